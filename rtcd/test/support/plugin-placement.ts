// The Calls plugin's choice of rtcd host for a new call, replayed in
// TypeScript from its behaviour (server/rtcd.go, GetHostForNewCall, at the
// pinned oracle commit), so that a test puts calls where the plugin would:
// - the hosts are visited in Go map order, i.e. a fresh random order per call;
// - each is asked `GET /system` (no credentials) one after another, never in
//   parallel; an answer counts only if its body decodes as JSON and the
//   status is 200 (a missing cpu_load decodes as 0, as Go's zero value);
// - the lowest cpu_load wins, the first visited keeps a tie (strict `<`),
//   so ties go to a random host;
// - when no host answers, a random one is taken.
// The plugin runs one such choice per new call, concurrently for calls
// started at the same time.

export interface PlacementHost {
  name: string;
  url: string;
}

export interface Placement<H extends PlacementHost> {
  host: H;
  // The cpu_load each host answered, in the order asked (undefined: no answer).
  asked: { name: string; cpuLoad: number | undefined }[];
  fallback: boolean;
}

function shuffled<T>(xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function systemLoad(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/system`);
    const text = await res.text();
    // Go's json.Decoder fails on an empty body (rtcd's answer when its load is +Inf).
    const body = JSON.parse(text) as { cpu_load?: unknown };
    if (res.status !== 200) return undefined;
    const v = body.cpu_load;
    return typeof v === "number" ? v : 0;
  } catch {
    return undefined;
  }
}

export async function pluginPlacement<H extends PlacementHost>(hosts: readonly H[]): Promise<Placement<H>> {
  if (hosts.length === 0) throw new Error("no host available");
  const asked: Placement<H>["asked"] = [];
  let best: { host: H; load: number } | undefined;
  for (const host of shuffled(hosts)) {
    const load = await systemLoad(host.url);
    asked.push({ name: host.name, cpuLoad: load });
    if (load === undefined) continue;
    if (!best || load < best.load) best = { host, load };
  }
  if (best) return { host: best.host, asked, fallback: false };
  return { host: hosts[Math.floor(Math.random() * hosts.length)]!, asked, fallback: true };
}
