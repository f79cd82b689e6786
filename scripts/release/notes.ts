// Release notes: the CHANGELOG.md section of one version ("## [0.1.0] - date"
// or "## 0.1.0 ..."), without its heading, up to the next version's heading.
export function releaseNotes(changelog: string, tagOrVersion: string): string {
  const version = tagOrVersion.replace(/^v/, "");
  const lines = changelog.split("\n");
  const heading = (l: string) => /^## /.test(l);
  const esc = version.replace(/[.+]/g, (c) => `\\${c}`);
  const mine = new RegExp(`^## \\[?v?${esc}\\]?(\\s|$)`);
  const start = lines.findIndex((l) => mine.test(l));
  if (start < 0) throw new Error(`CHANGELOG.md has no "## ${version}" section`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex(heading);
  const body = (end < 0 ? rest : rest.slice(0, end)).join("\n").trim();
  if (!body) throw new Error(`CHANGELOG.md's ${version} section is empty`);
  return body + "\n";
}
