// `npm run test-call`'s parts: the call (I/O), its verdict and report (pure),
// and which pod it goes to (pure).
export { TestCall, MAX_PARTICIPANTS, type TestCallOptions } from "./test-call.ts";
export { formatReport, judge, MIN_PACKETS, type CallReport } from "./report.ts";
export { pickTarget, type Target } from "./target.ts";
