// Prints the release notes of a tag or version from CHANGELOG.md (the release
// workflow's "Release notes" step): node scripts/release/notes-cli.ts v0.1.0
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { releaseNotes } from "./notes.ts";
import { repoRoot } from "./versions.ts";

const tag = process.argv[2];
if (!tag) {
  process.stderr.write("usage: notes-cli.ts <tag or version>\n");
  process.exit(2);
}
process.stdout.write(releaseNotes(readFileSync(join(repoRoot, "CHANGELOG.md"), "utf8"), tag));
