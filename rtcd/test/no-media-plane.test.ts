// An rtcd built without a media plane (an embedder forgetting main.ts's
// mediasoup one) must refuse to be built, not accept calls whose offers
// nobody answers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { loadConfig } from "../src/config/index.ts";
import { createLogger } from "../src/log.ts";
import { Rtcd, type RtcdOptions } from "../src/service.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("building an rtcd without a media plane is an error naming the option", () => {
  const dir = mkdtempSync(join(tmpdir(), "rtcd-nomedia-"));
  dirs.push(dir);
  const { config } = loadConfig(join(dir, "none.toml"), {
    RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
    RTCD_STORE_DATASOURCE: join(dir, "db"),
  });
  const log = createLogger([]);
  // What a JavaScript embedder (no type checker) could pass.
  const noMedia = { processMetrics: false } as unknown as RtcdOptions;
  expect(() => new Rtcd(config, log, noMedia)).toThrow(/needs a media plane \(RtcdOptions\.media/);
});
