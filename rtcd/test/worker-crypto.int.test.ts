// The worker rtcd runs encrypts media with OpenSSL's ciphers: libsrtp built
// into it against OpenSSL (rtcd/worker-build/build-worker.sh), not Debian's
// libsrtp2, which is built with NSS and whose PKCS#11 layer took about a
// quarter of the worker's CPU per forwarded packet (docs/benchmarks.md).
// Nothing in a run would fail if the NSS build came back; this says so.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { resolveWorkerBin } from "../src/media/worker-bin.ts";

function neededLibraries(bin: string): string[] {
  const out = spawnSync("readelf", ["-d", bin], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`readelf -d ${bin} failed: ${out.stderr}`);
  return [...out.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] ?? "");
}

describe("the mediasoup worker's SRTP", () => {
  const bin = resolveWorkerBin();

  test("links neither a shared libsrtp nor NSS", () => {
    const needed = neededLibraries(bin);
    expect(needed, `${bin} links ${needed.join(", ")}`).toContain("libcrypto.so.3");
    expect(
      needed.filter((l) => /srtp|nss|softokn|freebl|nspr/.test(l)),
      `${bin} links ${needed.join(", ")}`,
    ).toEqual([]);
  });

  test("carries libsrtp's OpenSSL ciphers", () => {
    // libsrtp names each cipher implementation; these two are its OpenSSL ones.
    const text = readFileSync(bin).toString("latin1");
    for (const name of ["AES-128 GCM using openssl", "AES-256 GCM using openssl"]) {
      expect(text.includes(name), `${bin} has no "${name}" in it`).toBe(true);
    }
  });
});
