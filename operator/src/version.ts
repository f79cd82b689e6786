// The operator's version is its package.json's, which the release keeps equal
// to the repository's (root package.json, the one version source; see
// scripts/versions.test.ts). Reading the file, not an environment variable,
// means a build cannot forget to stamp it, and the image's version label is
// checked against this same file when the image is built. The commit is only
// known at build time, so the image build stamps it (MMRTCD_BUILD_HASH).
import { readFileSync } from "node:fs";

// src/version.ts and dist/version.js are both one level below package.json.
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export const VERSION_INFO = {
  version: pkg.version,
  commit: process.env["MMRTCD_BUILD_HASH"] || "unknown",
};
