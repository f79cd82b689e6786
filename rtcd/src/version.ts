// /version. The plugin accepts a buildVersion that is semver >= v0.17.0
// (>= v1.0.0 to use the sessions API). We report the rtcd release whose
// protocol we implement, with our own version as semver build metadata
// (ignored in comparisons): "v1.2.6+mmrtcd.0.1.0".
import { readFileSync } from "node:fs";

export const RTCD_PROTOCOL_VERSION = "v1.2.6";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const GOARCH: Record<string, string> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm" };

export interface VersionInfo {
  buildDate: string;
  buildVersion: string;
  buildHash: string;
  goVersion: string;
  goOS: string;
  goArch: string;
}

// Image builds stamp the hash and date into the environment.
export function versionInfo(env: NodeJS.ProcessEnv = process.env): VersionInfo {
  return {
    buildDate: env["MMRTCD_BUILD_DATE"] ?? "",
    buildVersion: `${RTCD_PROTOCOL_VERSION}+mmrtcd.${pkg.version}`,
    buildHash: env["MMRTCD_BUILD_HASH"] ?? "",
    // The runtime in the field Go fills with its own.
    goVersion: `node${process.versions.node}`,
    goOS: process.platform,
    goArch: GOARCH[process.arch] ?? process.arch,
  };
}
