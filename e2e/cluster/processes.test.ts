import { spawn } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { isOurs } from "./processes.ts";

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

test("a process started through a symbolic link to its binary is still ours (a linked cache)", () => {
  const link = join(mkdtempSync(join(tmpdir(), "procs-")), "sleep");
  symlinkSync("/bin/sleep", link);
  const child = spawn(link, ["30"], { stdio: "ignore" });
  children.push(child);
  const rec = { name: "sleep", pid: child.pid!, binary: link, log: "", listen: "" };
  expect(isOurs(rec)).toBe(true);
  // And another binary is not.
  expect(isOurs({ ...rec, binary: "/bin/true" })).toBe(false);
});
