// The shape of a Prometheus exposition: per metric family, the label sets
// its samples carry. Values of labels that name things of one run (call
// and client IDs) or buckets are left out, the rest (type, direction...)
// are part of the shape, since dashboards and alerts select on them.
const RUN_SPECIFIC = new Set(["groupID", "clientID", "le", "quantile"]);

export function metricShapes(text: string, prefix = "rtcd_"): Map<string, Set<string>> {
  const families = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      if (t[1]!.startsWith(prefix)) families.set(t[1]!, families.get(t[1]!) ?? new Set());
      continue;
    }
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!m || !m[1]!.startsWith(prefix)) continue;
    let fam = m[1]!;
    for (const suffix of ["_bucket", "_sum", "_count"])
      if (fam.endsWith(suffix) && types.has(fam.slice(0, -suffix.length))) fam = fam.slice(0, -suffix.length);
    const labels = [...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => (RUN_SPECIFIC.has(k!) ? k! : `${k}=${v}`))
      .sort()
      .join(",");
    const set = families.get(fam) ?? new Set<string>();
    set.add(labels);
    families.set(fam, set);
  }
  return families;
}

/** What `theirs` has that `ours` lacks: whole families, or label sets of a family. */
export function missingShapes(theirs: Map<string, Set<string>>, ours: Map<string, Set<string>>): string[] {
  const out: string[] = [];
  for (const [fam, sets] of theirs) {
    const mine = ours.get(fam);
    if (!mine) {
      out.push(fam);
      continue;
    }
    for (const s of sets) if (!mine.has(s)) out.push(`${fam}{${s}}`);
  }
  return out.sort();
}
