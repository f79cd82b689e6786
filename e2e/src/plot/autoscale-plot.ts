// npm run plot:autoscale -- <timeline.json> [out.svg]
// Draws the autoscaling ramp recorded by e2e/test/real-node/autoscale.e2e.test.ts
// (written to .tmp/autoscale-ramp.json, or MMRTCD_AUTOSCALE_TIMELINE) as the
// SVG in docs/: calls and sessions per pod, pods and desired replicas, load
// against target.
import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { autoscaleSvg, type Timeline } from "./autoscale-timeline.ts";

const [input, output = "docs/autoscaling-ramp.svg"] = process.argv.slice(2);
if (!input) {
  process.stderr.write("usage: npm run plot:autoscale -- <timeline.json> [out.svg]\n");
  process.exit(2);
}
const tl = JSON.parse(readFileSync(input, "utf8")) as Timeline;
if (!Array.isArray(tl.samples) || !tl.samples.length) {
  process.stderr.write(`${input}: no samples\n`);
  process.exit(1);
}
const svg = autoscaleSvg(tl, `npm run plot:autoscale -- ${relative(process.cwd(), input)}`);
writeFileSync(output, svg);
process.stdout.write(
  `${JSON.stringify({ level: "info", msg: "wrote the autoscaling plot", output, samples: tl.samples.length })}\n`,
);
