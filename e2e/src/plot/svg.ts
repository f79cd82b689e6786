// Line charts as plain SVG text: the pictures in docs/ are drawn from real
// runs by scripts, and a hand-written renderer keeps that free of a plotting
// dependency. Pure and deterministic (the same data gives the same bytes), so
// a regenerated picture only changes when its data does.

export interface Series {
  name: string;
  /** [x, y] pairs, x ascending (seconds from the start of the run, say). */
  points: readonly (readonly [number, number])[];
}

export interface Panel {
  title: string;
  /** Shown after the title, e.g. "calls" or "%": the y axis' unit. */
  unit?: string;
  series: readonly Series[];
  /** The y axis always starts at 0 and reaches at least this. */
  minYMax?: number;
}

export interface Layout {
  title: string;
  /** Under the title: where the data came from and how to regenerate it. */
  subtitle?: string;
  columns: number;
  panelWidth: number;
  panelHeight: number;
  /** The x axis' label, shared by every panel. */
  xLabel: string;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const PAD = { left: 48, right: 12, top: 28, bottom: 56 };
// Legends in two columns, three rows at most: more series say how many more.
const LEGEND_MAX = 6;
const HEADER = 56;

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]!};`,
  );
}

/** A round upper bound for an axis (1, 2 or 5 times a power of ten). */
export function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** At most `max` characters, the cut marked: legends share a panel's width in two columns. */
export function shorten(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(1, max - 1))}…`;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 1 ? 2 : 1));

/** One panel as a <g>, its origin at (x, y). */
export function panelSvg(
  p: Panel,
  x: number,
  y: number,
  width: number,
  height: number,
  xRange: [number, number],
  xLabel: string,
): string {
  const w = width - PAD.left - PAD.right;
  const h = height - PAD.top - PAD.bottom;
  const ys = p.series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  const yMax = niceMax(Math.max(p.minYMax ?? 0, ...ys));
  const [x0, x1] = xRange;
  const sx = (v: number) => PAD.left + ((v - x0) / (x1 - x0 || 1)) * w;
  const sy = (v: number) => PAD.top + h - (v / yMax) * h;
  const out = [`<g transform="translate(${x},${y})">`];
  const title = p.unit ? `${p.title} (${p.unit})` : p.title;
  out.push(`<text x="${PAD.left}" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${w}" height="${h}" fill="none" stroke="#ccc"/>`);
  for (const f of [0, 0.5, 1]) {
    const v = yMax * f;
    out.push(`<text x="${PAD.left - 4}" y="${sy(v) + 4}" font-size="10" text-anchor="end">${fmt(v)}</text>`);
    if (f > 0)
      out.push(`<line x1="${PAD.left}" x2="${PAD.left + w}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`);
  }
  out.push(`<text x="${PAD.left}" y="${PAD.top + h + 14}" font-size="10">${fmt(x0)}</text>`);
  out.push(
    `<text x="${PAD.left + w}" y="${PAD.top + h + 14}" font-size="10" text-anchor="end">${fmt(x1)}</text>`,
  );
  out.push(
    `<text x="${PAD.left + w / 2}" y="${PAD.top + h + 14}" font-size="10" text-anchor="middle">${escapeXml(xLabel)}</text>`,
  );
  const drawn = p.series.filter((s) => s.points.length);
  if (!drawn.length)
    out.push(
      `<text x="${PAD.left + w / 2}" y="${PAD.top + h / 2}" font-size="12" text-anchor="middle" fill="#999">no data</text>`,
    );
  drawn.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points
      .filter(([, v]) => Number.isFinite(v))
      .map(([px, py]) => `${sx(px).toFixed(1)},${sy(py).toFixed(1)}`)
      .join(" ");
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>`);
    if (i >= LEGEND_MAX) return;
    const more = i === LEGEND_MAX - 1 && drawn.length > LEGEND_MAX;
    const label = more ? `+${drawn.length - i} more` : shorten(s.name, Math.floor(w / 2 / 5.5));
    out.push(
      `<text x="${PAD.left + 4 + (i % 2) * (w / 2)}" y="${PAD.top + h + 28 + Math.floor(i / 2) * 11}" font-size="10" fill="${more ? "#555" : color}">${escapeXml(label)}</text>`,
    );
  });
  out.push("</g>");
  return out.join("\n");
}

/** Panels in a grid under a title, sharing one x range (all their points'). */
export function dashboardSvg(panels: readonly Panel[], l: Layout): string {
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xRange: [number, number] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const rows = Math.ceil(panels.length / l.columns);
  const width = l.columns * l.panelWidth;
  const height = HEADER + rows * l.panelHeight;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="12" y="24" font-size="16" font-weight="bold">${escapeXml(l.title)}</text>`,
  ];
  if (l.subtitle) out.push(`<text x="12" y="44" font-size="11" fill="#555">${escapeXml(l.subtitle)}</text>`);
  panels.forEach((p, i) => {
    const x = (i % l.columns) * l.panelWidth;
    const y = HEADER + Math.floor(i / l.columns) * l.panelHeight;
    out.push(panelSvg(p, x, y, l.panelWidth, l.panelHeight, xRange, l.xLabel));
  });
  out.push("</svg>", "");
  return out.join("\n");
}
