// The MattermostRTCD API: constants, types, the CRD, defaulting and offline validation.
export { GROUP, VERSION, KIND, PLURAL, crd } from "./crd.ts";
export { applyDefaults } from "./defaults.ts";
export { validateOffline } from "./validate.ts";
export { DEFAULT_API_PORT, DEFAULT_RTC_PORT, DEFAULT_REPLICAS } from "./schema.ts";
export { DEFAULT_GRACE_SECONDS, DEFAULT_IMAGE } from "./schema-pod.ts";
export type { DefaultedMattermostRTCD, MattermostRTCD } from "./types.ts";
export type * from "./types.generated.ts";
