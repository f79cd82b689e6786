// An rtcd built without a media plane (an embedder forgetting main.ts's
// mediasoup one) must say so, not accept calls it will never answer.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { loadConfig } from "../src/config/index.ts";
import { createLogger, type Fields, type Level } from "../src/log.ts";
import { Rtcd } from "../src/service.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("a join to an rtcd built without a media plane is refused with a clear error", () => {
  const dir = mkdtempSync(join(tmpdir(), "rtcd-nomedia-"));
  dirs.push(dir);
  const { config } = loadConfig(join(dir, "none.toml"), {
    RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
    RTCD_STORE_DATASOURCE: join(dir, "db"),
  });
  const lines: { level: Level; msg: string; fields: Fields }[] = [];
  const log = createLogger([
    { threshold: 4, write: (level, _ts, msg, fields) => lines.push({ level, msg, fields }) },
  ]);
  const rtcd = new Rtcd(config, log, { processMetrics: false });
  expect(rtcd.media.name).toBe("missing");
  rtcd.registry.join("client", "conn", {
    callID: "call",
    userID: "user",
    sessionID: "session",
    channelID: "chan",
  });
  // The session is not kept: the plugin gets `close` for it at once.
  expect(rtcd.registry.size).toBe(0);
  const errors = lines.filter((l) => l.level === "error").map((l) => `${l.msg} ${JSON.stringify(l.fields)}`);
  expect(errors.join("\n")).toMatch(/without a media plane/);
  rtcd.store.close();
});
