// A draining rtcd answers /system with the highest load there is, so that
// the plugin, which keeps asking it until DNS drops it, places new calls
// anywhere else (they would be refused here).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { NoMediaPlane } from "../src/calls/no-media.ts";
import { loadConfig } from "../src/config/index.ts";
import { silentLogger } from "../src/log.ts";
import { Rtcd } from "../src/service.ts";
import { until } from "./support/wait.ts";

const KEY = "d".repeat(40);

describe("/system while draining (in-process rtcd, no media)", () => {
  let rtcd: Rtcd;
  let base: string;
  let ws: WebSocket;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "rtcd-system-drain-"));
    const { config } = loadConfig(join(dir, "none.toml"), {
      RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
      RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
      RTCD_STORE_DATASOURCE: join(dir, "db"),
    });
    rtcd = new Rtcd(config, silentLogger, {
      processMetrics: false,
      media: (_m, log) => new NoMediaPlane(log),
    });
    base = `http://127.0.0.1:${(await rtcd.start()).port}`;
    const reg = await fetch(`${base}/register`, {
      method: "POST",
      body: JSON.stringify({ clientID: "plugin", authKey: KEY }),
    });
    expect(reg.status).toBe(201);
    ws = new WebSocket(`${base.replace("http", "ws")}/ws`, {
      headers: { authorization: `Basic ${Buffer.from(`plugin:${KEY}`).toString("base64")}` },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("message", () => resolve()); // hello
      ws.once("error", reject);
    });
  });

  afterAll(async () => {
    ws?.terminate();
    await rtcd?.stop();
  });

  const cpuLoad = async () =>
    ((await (await fetch(`${base}/system`)).json()) as { cpu_load: number }).cpu_load;

  test("not ready until its first CPU load: unmeasured, it would read as idle and take a whole burst", async () => {
    // The first load comes at the next whole second after start: started
    // just after one, a fresh rtcd is "starting" for most of a second.
    const dir = mkdtempSync(join(tmpdir(), "rtcd-system-start-"));
    const { config } = loadConfig(join(dir, "none.toml"), {
      RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
      RTCD_STORE_DATASOURCE: join(dir, "db"),
    });
    const fresh = new Rtcd(config, silentLogger, {
      processMetrics: false,
      media: (_m, log) => new NoMediaPlane(log),
    });
    await until("just after a whole second", () => Date.now() % 1000 < 100, 2000);
    const url = `http://127.0.0.1:${(await fresh.start()).port}`;
    try {
      const first = await fetch(`${url}/readyz`);
      expect([first.status, await first.json()]).toEqual([503, { status: "starting" }]);
      await until("ready once measured", async () => (await fetch(`${url}/readyz`)).status === 200, 3000);
      const load = ((await (await fetch(`${url}/system`)).json()) as { cpu_load: number }).cpu_load;
      expect(load).toBeGreaterThan(0);
    } finally {
      await fresh.stop();
    }
  });

  test("the highest load once draining begins, a finite one before", async () => {
    // A call in progress keeps the draining rtcd up.
    ws.send(
      Buffer.concat([
        encode("join"),
        encode({ callID: "c", userID: "u", sessionID: "s", channelID: "ch", av1Support: false }),
      ]),
    );
    await until("the session joined", () => rtcd.registry.size === 1);
    const serving = await cpuLoad();
    expect(serving).toBeGreaterThan(0);
    expect(serving).toBeLessThan(Number.MAX_VALUE);

    rtcd.drain("SIGTERM");
    expect(await cpuLoad()).toBe(Number.MAX_VALUE);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  });
});
