// A SIGTERM'd rtcd with no calls exits promptly, whatever its clients do
// with their connections: a pod that does not exit holds its node's ports
// for the whole termination grace (5 hours).
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { startRtcd, tail, type Running } from "./support/procs.ts";
import { until } from "./support/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "rtcd-exit-"));
const running: Running[] = [];
const sockets: Socket[] = [];

afterAll(() => {
  for (const s of sockets) s.destroy();
  for (const r of running) r.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("a WebSocket client refused with 401 that keeps its connection open does not hold a draining rtcd", async () => {
  const r = await startRtcd({ impl: "ours", realBinary: "", dir, env: {}, name: "ours" });
  running.push(r);
  // A client with a wrong key that never closes its side (as a prober that
  // ignores the answer might).
  const s = connect({ port: Number(new URL(r.url).port), host: "127.0.0.1", allowHalfOpen: true });
  sockets.push(s);
  s.on("error", () => undefined);
  let answer = "";
  s.on("data", (d: Buffer) => (answer += d.toString()));
  await new Promise((resolve) => s.once("connect", resolve));
  s.write(
    "GET /ws HTTP/1.1\r\nHost: rtcd\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Authorization: Basic ${Buffer.from("nobody:wrong").toString("base64")}\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await until("the 401", () => answer.includes("\r\n\r\n"));
  expect(answer).toMatch(/^HTTP\/1\.1 401 /);

  let code: number | null | undefined;
  void r.exited.then((c) => (code = c));
  r.proc.kill("SIGTERM");
  // Nothing to drain and no request in flight: no reason to wait for
  // anything (the 10 s bound on running requests does not apply).
  await until(
    "rtcd's exit after SIGTERM",
    () => code !== undefined,
    8000,
    () => `still running:\n${tail(r.logFile, 10)}`,
  );
  expect(code).toBe(0);
});
