// /system's cpu_load as the Calls plugin uses it: to place each new call on
// the host that answers lowest. The CPU sample (system.ts) is taken once a
// second and a new session's media starts a second or two after its join, so
// during a burst every host answers what it answered before the burst and
// the plugin sends every call to the same one. Here the sample is blended
// with what this host admitted in the last few seconds, so a host that just
// took calls answers higher at once and the next call goes elsewhere; and a
// draining host, which refuses new calls, answers the highest load there is.

// A new call counts as its session plus the call itself (a router, the
// first transports), a session joining a running call as one unit.
export const SESSION_UNITS = 1;
export const CALL_UNITS = 1;

// Each unit multiplies the load by 1.25 (a new call by about 1.56), and
// units compound. Multiplicative, because rtcd's scale (elapsed / idle
// CPU-seconds) spans 1/CPUs on an idle host to 1e6 on a saturated one: a
// factor orders hosts by recent admissions at any level, saturated ones
// included (all answer 1e6 there and the plugin would pick at random).
// Compounding, because a plain sum (load * (1 + k * units)) still shares a
// long burst out in inverse proportion to the samples: samples that differ
// by 2x from noise alone (co-located hosts sampling the same busy CPUs a
// fraction of a second apart do) would give one host twice the calls of
// another. Compounded, a 2x difference costs about 1.5 calls, a 5x one
// about 3.6: during a burst, spreading wins over the CPU figure, which is a
// second old and cannot show the burst anyway; after the window the CPU
// figure alone decides again.
export const UNIT_FACTOR = 1.25;

// Concurrent placements read the same figures: the plugin places calls in
// parallel, and a call's join reaches us only after the plugin has asked
// every host, so under a burst several choices are made before any of them
// is counted, and all would go to the same host. Most of all at a burst's
// start, when no host has admitted anything and the samples alone decide.
// Each answer is therefore scaled by a random factor in [1, 1 + JITTER):
// hosts whose answers are within 1.5x of each other share such choices
// (the lower one more often), while a host a whole new call ahead (1.56x)
// is still never picked before the other.
export const JITTER = 0.5;

// Full weight while the sample cannot show the admission yet (the join, ICE
// and DTLS, then one whole 1 s sampling interval: about 2 s), then fading
// linearly to nothing at 5 s, by when the session's CPU is in the sample
// and counting it twice would push calls away from a host for nothing.
export const HOLD_MS = 2000;
export const WINDOW_MS = 5000;

// Bounds the blend whatever the join rate: 200 units (100 new calls within
// the window) is already a 1.25^200 = 2e19x load; beyond, more changes
// nothing a placement could see.
export const MAX_UNITS = 200;

// Where a sample means "saturated": under 10 ms of idle CPU a second, summed
// over all CPUs. Above it a sample is noise, not an order: co-located hosts
// sampling the same saturated CPUs a fraction of a second apart read 0 or a
// few ms of idle time, 1e6 (MAX_LOAD) or 1e3 on this scale, and a burst test
// on a loaded machine saw the host that happened to read 1e3 take every call
// for 100 ms. Capped here, saturated hosts read as equals and the admissions
// spread a burst over them; an unsaturated host (below 100) still wins.
export const SATURATED_LOAD = 100;
// While draining: above anything a serving host can answer (at most
// SATURATED_LOAD * UNIT_FACTOR^MAX_UNITS * (1 + JITTER), about 3.6e21), so
// the plugin picks this host only if every host it asks is draining. The
// largest finite double: JSON and Go's float64 carry it exactly.
export const DRAINING_LOAD = Number.MAX_VALUE;

// Weight of one admission `ageMs` ago: 1, then fading to 0 over the window.
export function admissionWeight(ageMs: number): number {
  if (ageMs < 0) return 1; // clock skew between callers: treat as just now
  if (ageMs <= HOLD_MS) return 1;
  if (ageMs >= WINDOW_MS) return 0;
  return (WINDOW_MS - ageMs) / (WINDOW_MS - HOLD_MS);
}

export interface LoadInputs {
  // The CPU sample (system.ts), 0 until two samples exist.
  sampled: number;
  // Weighted admission units in the window (RecentAdmissions.weighted).
  recentUnits: number;
  // New calls here would be refused.
  draining: boolean;
  // CPUs we may use (system.ts cpuBudget).
  budget: number;
  // Uniform in [0, 1): Math.random() in service, fixed in tests.
  random: number;
}

export function placementLoad(i: LoadInputs): number {
  if (i.draining) return DRAINING_LOAD;
  // Before two samples exist rtcd answers 0, which beats every warmed-up
  // host: a pod that just started would take a whole burst. Until measured
  // it reads as an idle budget (the lowest value a sample can give), which
  // admissions then raise like any other.
  // (NaN, which no sample gives, reads as idle too; +Infinity as saturated.)
  const base = i.sampled > 0 ? Math.min(i.sampled, SATURATED_LOAD) : 1 / i.budget;
  const units = Math.min(Math.max(i.recentUnits, 0), MAX_UNITS);
  const jitter = 1 + JITTER * Math.min(Math.max(i.random, 0), 1);
  return base * UNIT_FACTOR ** units * jitter;
}

// Admissions in the last WINDOW_MS, in 100 ms buckets: memory stays fixed
// whatever the join rate, and an admission's age is known to 100 ms, far
// finer than the 1 s sampling it compensates for.
const BUCKET_MS = 100;
const BUCKETS = WINDOW_MS / BUCKET_MS;

export class RecentAdmissions {
  private readonly units = new Float64Array(BUCKETS);
  // The bucket index (time / BUCKET_MS) each slot holds.
  private readonly slot = new Float64Array(BUCKETS).fill(-Infinity);

  add(nowMs: number, units: number): void {
    const b = Math.floor(nowMs / BUCKET_MS);
    const i = ((b % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.slot[i] !== b) {
      this.slot[i] = b;
      this.units[i] = 0;
    }
    this.units[i]! += units;
  }

  // Weighted units still in the window at `nowMs`.
  weighted(nowMs: number): number {
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const b = this.slot[i]!;
      if (b === -Infinity) continue;
      // The bucket's start: an admission counts as old as its bucket, so it
      // leaves the window no later than WINDOW_MS after it happened.
      sum += this.units[i]! * admissionWeight(nowMs - b * BUCKET_MS);
    }
    return sum;
  }
}
