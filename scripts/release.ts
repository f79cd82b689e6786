// `npm run release -- --registry R --version V`: build the rtcd and operator
// images with the project's own image build (e2e/images/build-images.sh), push
// them and the Helm chart to the OCI registry R, and write what was pushed, by
// digest, to .tmp/release/release.json (the workflow signs and attests those).
// The same script runs in .github/workflows/release.yml and against a local
// registry, so what runs here is what runs there. Any OCI registry works:
// images go through buildah, the chart through `helm push`.
//
//   --registry R      host[:port][/path], e.g. the workflow's REGISTRY variable
//   --version V       v0.1.0 or 0.1.0; must equal package.json's version
//   --step S          all (default) | images | manifest | chart
//                       images:   build for this machine's arch, push R/<image>:V-<arch>
//                       manifest: R/<image>:V, a list of the --archs pushed by `images`
//                       chart:    helm package (version and appVersion V), push oci://R/charts
//                       all:      the three, for this machine's arch only
//   --archs a,b       the architectures `manifest` joins (default: this machine's)
//   --source URL      the OCI source label (default: the git remote "origin")
//   --plain-http      talk HTTP to the registry (a local test registry)
//   --dry-run         print every command instead of running it
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cacheDir, toolPath } from "@mattermost-rtcd/e2e/cluster";
import { bareVersion, releaseVersion, repoRoot, versionMismatches } from "./release/versions.ts";

/** Image name in the registry, and the local name build-images.sh tags it with. */
export const IMAGES = [
  { name: "mattermost-rtcd-mediasoup", local: "localhost/mattermost-rtcd-mediasoup:local", build: "rtcd" },
  { name: "mattermost-rtcd-operator", local: "localhost/mattermost-rtcd-operator:local", build: "operator" },
] as const;
export const CHART_DIR = "charts/mattermost-rtcd";
const STEPS = ["all", "images", "manifest", "chart"] as const;
type Step = (typeof STEPS)[number];

const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64" };

interface Options {
  registry: string;
  version: string;
  step: Step;
  archs: string[];
  source: string;
  plainHttp: boolean;
  dryRun: boolean;
}

function fail(msg: string): never {
  process.stderr.write(`release: ${msg}\n`);
  process.exit(2);
}

function say(msg: string): void {
  process.stderr.write(`[release] ${msg}\n`);
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      registry: { type: "string" },
      version: { type: "string" },
      step: { type: "string", default: "all" },
      archs: { type: "string" },
      source: { type: "string" },
      "plain-http": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
    },
    strict: true,
  });
  if (!values.registry) fail("--registry is required (host[:port][/path])");
  if (!values.version) fail("--version is required (the tag, e.g. v0.1.0)");
  const registry = values.registry.replace(/^oci:\/\//, "").replace(/\/+$/, "");
  if (/^[a-z]+:\/\//.test(registry)) fail(`--registry ${registry}: no scheme, just host[:port][/path]`);
  const step = values.step as Step;
  if (!STEPS.includes(step)) fail(`--step must be one of ${STEPS.join(", ")}`);
  const arch = GOARCH[process.arch] ?? process.arch;
  return {
    registry,
    version: bareVersion(values.version),
    step,
    archs: values.archs ? values.archs.split(",").filter(Boolean) : [arch],
    source: values.source ?? gitOrEmpty(["remote", "get-url", "origin"]),
    plainHttp: values["plain-http"],
    dryRun: values["dry-run"],
  };
}

function gitOrEmpty(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: repoRoot, encoding: "utf8", stdio: "pipe" }).trim();
  } catch {
    return "";
  }
}

/** Runs a command (output to stderr unless captured), or with --dry-run prints it. */
function runner(dryRun: boolean) {
  return (cmd: string, args: string[], opts: { env?: Record<string, string>; capture?: boolean } = {}) => {
    const envText = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v} `);
    if (dryRun) {
      process.stdout.write(`+ ${envText.join("")}${[cmd, ...args].join(" ")}\n`);
      return "";
    }
    say(`${envText.join("")}${[cmd, ...args].join(" ")}`);
    // Captured means stdout and stderr together: helm prints the pushed digest on stderr.
    const pipe = opts.capture ? "pipe" : "inherit";
    const r = spawnSync(cmd, args, {
      cwd: repoRoot,
      env: { ...process.env, ...opts.env },
      encoding: "utf8",
      stdio: ["ignore", pipe, pipe],
    });
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
    if (r.status !== 0) {
      process.stderr.write(out);
      throw new Error(`${cmd} ${args[0] ?? ""} exited with ${r.status ?? r.signal}`);
    }
    return out;
  };
}

const o = options(process.argv.slice(2));
const run = runner(o.dryRun);
const want = releaseVersion();
if (o.version !== want) {
  fail(
    `--version ${o.version} is not package.json's ${want}: bump it first (npm version, Chart.yaml appVersion, the kustomization's newTag)`,
  );
}
const mismatches = versionMismatches();
if (mismatches.length) fail(`the versions disagree:\n  ${mismatches.join("\n  ")}`);

const outDir = join(repoRoot, ".tmp", "release");
mkdirSync(outDir, { recursive: true });
const recordFile = join(outDir, "release.json");
interface Pushed {
  ref: string;
  digest: string;
}
const record: Record<string, Pushed> =
  !o.dryRun && existsSync(recordFile)
    ? (JSON.parse(readFileSync(recordFile, "utf8")) as Record<string, Pushed>)
    : {};
const digestDir = mkdtempSync(join(tmpdir(), "mmrtcd-release-"));
const tls = o.plainHttp ? ["--tls-verify=false"] : [];
// build-images.sh keeps its buildah storage in the cache; push from there.
const store = join(cacheDir(), "images", "storage");
const buildah = (...args: string[]) =>
  run("buildah", [
    "--root",
    join(store, "root"),
    "--runroot",
    join(store, "run"),
    "--storage-driver",
    "overlay",
    ...args,
  ]);
const digestOf = (file: string) => (o.dryRun ? "sha256:<digest>" : readFileSync(file, "utf8").trim());
const arch = o.archs[0]!;

function pushImages(): void {
  run("bash", ["e2e/images/build-images.sh", ...IMAGES.map((i) => i.build)], {
    env: { MMRTCD_IMAGE_REVISION: gitOrEmpty(["rev-parse", "HEAD"]), MMRTCD_IMAGE_SOURCE: o.source },
  });
  for (const img of IMAGES) {
    const ref = `${o.registry}/${img.name}:${o.version}-${arch}`;
    const file = join(digestDir, `${img.name}-${arch}`);
    buildah("push", ...tls, "--digestfile", file, img.local, `docker://${ref}`);
    record[`${img.name}-${arch}`] = { ref, digest: digestOf(file) };
  }
}

function pushManifests(): void {
  for (const img of IMAGES) {
    const ref = `${o.registry}/${img.name}:${o.version}`;
    const list = `localhost/release/${img.name}:${o.version}`;
    // A list left by an earlier run would keep its old entries.
    if (!o.dryRun) {
      try {
        buildah("manifest", "rm", list);
      } catch {
        // none yet
      }
    }
    buildah("manifest", "create", list);
    for (const a of o.archs) buildah("manifest", "add", ...tls, list, `docker://${ref}-${a}`);
    const file = join(digestDir, img.name);
    buildah("manifest", "push", ...tls, "--all", "--digestfile", file, list, `docker://${ref}`);
    record[img.name] = { ref, digest: digestOf(file) };
  }
}

function pushChart(): void {
  const helm = existsSync(toolPath("helm")) ? toolPath("helm") : "helm";
  run(helm, [
    "package",
    CHART_DIR,
    "--version",
    o.version,
    "--app-version",
    o.version,
    "--destination",
    outDir,
  ]);
  const tgz = join(outDir, `mattermost-rtcd-${o.version}.tgz`);
  const out = run(
    helm,
    ["push", tgz, `oci://${o.registry}/charts`, ...(o.plainHttp ? ["--plain-http"] : [])],
    {
      capture: true,
    },
  );
  process.stderr.write(out);
  const digest = o.dryRun ? "sha256:<digest>" : /Digest:\s*(sha256:[0-9a-f]{64})/.exec(out)?.[1];
  if (!digest) fail(`helm push printed no digest:\n${out}`);
  record["chart"] = { ref: `${o.registry}/charts/mattermost-rtcd:${o.version}`, digest };
}

if (o.step === "all" || o.step === "images") pushImages();
if (o.step === "all" || o.step === "manifest") pushManifests();
if (o.step === "all" || o.step === "chart") pushChart();
if (!o.dryRun) writeFileSync(recordFile, JSON.stringify(record, null, 2) + "\n");
for (const [what, p] of Object.entries(record)) say(`${what}: ${p.ref.replace(/:[^:/]+$/, "")}@${p.digest}`);
