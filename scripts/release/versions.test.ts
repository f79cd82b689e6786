// One version, everywhere a user reads one: the root package.json's.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { versionInfo } from "@mattermost-rtcd/rtcd/version";
import { releaseNotes } from "./notes.ts";
import { releaseVersion, repoRoot, versionMismatches } from "./versions.ts";

const version = releaseVersion();

describe("the release version", () => {
  it("is stated the same in every package.json, the chart's appVersion and the kustomization's tag", () => {
    expect(versionMismatches()).toEqual([]);
  });

  it("names the place that disagrees", () => {
    const root = mkdtempSync(join(tmpdir(), "mmrtcd-versions-"));
    for (const f of ["package.json", "operator", "rtcd", "e2e", "charts"].map((p) => join(repoRoot, p))) {
      const rel = f.slice(repoRoot.length + 1);
      cpSync(f, join(root, rel), {
        recursive: true,
        filter: (src) => !src.includes("node_modules") && !/\/(src|test|bench)\//.test(src),
      });
    }
    writeFileSync(join(root, "rtcd/package.json"), JSON.stringify({ version: "9.9.9" }));
    expect(versionMismatches(root)).toEqual([`rtcd/package.json says 9.9.9, package.json says ${version}`]);
  });

  it("is what `rtcd-operator version` prints and what rtcd's /version carries", () => {
    const out = execFileSync(process.execPath, [join(repoRoot, "operator/src/cli/main.ts"), "version"], {
      encoding: "utf8",
    });
    expect((JSON.parse(out) as { version: string }).version).toBe(version);
    // The protocol version the plugin compares, with ours as build metadata.
    expect(versionInfo({}).buildVersion).toMatch(new RegExp(`^v\\d+\\.\\d+\\.\\d+\\+mmrtcd\\.${version}$`));
  });

  it("has release notes in CHANGELOG.md", () => {
    expect(
      releaseNotes(readFileSync(join(repoRoot, "CHANGELOG.md"), "utf8"), version).length,
    ).toBeGreaterThan(40);
  });
});

describe("releaseNotes", () => {
  const changelog = "# Changelog\n\n## [0.2.0] - 2027-01-01\n\n- b\n\n## [0.1.0] - 2026-12-03\n\n- a\n";
  it("takes one version's section, with or without the tag's v", () => {
    expect(releaseNotes(changelog, "0.1.0")).toBe("- a\n");
    expect(releaseNotes(changelog, "v0.2.0")).toBe("- b\n");
  });
  it("refuses a version the changelog does not have", () => {
    expect(() => releaseNotes(changelog, "0.3.0")).toThrow(/no "## 0.3.0" section/);
    expect(() => releaseNotes(changelog, "0.1.00")).toThrow();
  });
});

describe("npm run release -- --dry-run", () => {
  const release = (...args: string[]) =>
    spawnSync(process.execPath, [join(repoRoot, "scripts/release.ts"), ...args], { encoding: "utf8" });

  it("builds with the project's image build and pushes both images and the chart to any OCI registry", () => {
    const r = release("--registry", "registry.test:5000/team", "--version", `v${version}`, "--dry-run");
    expect(r.stderr).not.toMatch(/^release:/m);
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.some((l) => l.includes("e2e/images/build-images.sh rtcd operator"))).toBe(true);
    const arch = process.arch === "x64" ? "amd64" : process.arch;
    const at = (l: string, ref: string) => l.endsWith(`docker://registry.test:5000/team/${ref}`);
    for (const image of ["mattermost-rtcd-mediasoup", "mattermost-rtcd-operator"]) {
      expect(lines.some((l) => / push /.test(l) && at(l, `${image}:${version}-${arch}`))).toBe(true);
      expect(lines.some((l) => l.includes("manifest push --all") && at(l, `${image}:${version}`))).toBe(true);
    }
    expect(
      lines.some((l) =>
        l.includes(`package charts/mattermost-rtcd --version ${version} --app-version ${version}`),
      ),
    ).toBe(true);
    expect(
      lines.some((l) => l.includes(" push ") && l.endsWith(`oci://registry.test:5000/team/charts`)),
    ).toBe(true);
  });

  it("refuses a version other than package.json's, before doing anything", () => {
    const r = release("--registry", "registry.test", "--version", "v99.0.0", "--dry-run");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(`--version 99.0.0 is not package.json's ${version}`);
  });
});
