// How far V8 lets the controller's heap grow past what it keeps alive.
//
// V8 sizes the old generation after each full GC as live size x a factor it
// picks from its GC and allocation speeds, up to 4x on a machine with memory
// to spare. The controller allocates fast and briefly (every watch event and
// list is parsed JSON, every reconcile renders and compares objects,
// every scrape renders /metrics), so V8 picks large factors: with 1000
// instances the heap held under 50 MiB live in up to 190 MiB, and that room is
// resident memory a pod pays for. A fixed 1.25x bounds it; V8 still grows
// the heap for live data, so no instance count runs into a limit.
// bench:operator at 1000 instances, peak RSS: 307 MiB with V8's own factor,
// 203 MiB at 1.5x, 187 MiB at 1.25x, for the same time to Ready and within
// this machine's noise the same CPU (docs/benchmarks.md, "Heap growth").
import { setFlagsFromString } from "node:v8";

/** Heap growth factor 1 + HEAP_GROWING_PERCENT / 100. */
export const HEAP_GROWING_PERCENT = 25;

/**
 * Applies HEAP_GROWING_PERCENT to this process. Set here rather than on the
 * image's command line so it holds however the process is started (a
 * chart's command override, `npm start`, the benchmark); V8 reads it at each
 * GC, so setting it at start is enough.
 */
export function boundHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
