// How far V8 lets the controller's heap grow past what it keeps alive.
//
// V8 sizes the old generation after each full GC as live size x a factor it
// picks from its GC and allocation speeds, up to 4x on a machine with memory
// to spare. The controller allocates fast and briefly (every watch event and
// list is parsed JSON, every reconcile renders and compares objects), so V8
// picks large factors: with 1000 instances the heap held 75 MiB live in
// 190 MiB, and that room is resident memory a pod pays for. A fixed 1.5x
// bounds it; V8 still grows the heap for live data, so no instance count
// runs into a limit (docs/benchmarks.md, "Operator memory: heap growth").
import { setFlagsFromString } from "node:v8";

/** Heap growth factor 1 + HEAP_GROWING_PERCENT / 100. */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Applies HEAP_GROWING_PERCENT to this process. Set here rather than on the
 * image's command line so it holds however the process is started (a
 * chart's command override, `npm start`, the benchmark); V8 reads it at each
 * GC, so setting it at start is enough.
 */
export function boundHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
