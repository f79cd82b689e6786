// Structured logging with rtcd's two targets (console and file), each with
// its own level and JSON-or-plain format. JSON lines follow the repository
// convention: {"ts","level","msg",...fields}. Never pass secrets as fields.
import { openSync, writeSync, closeSync } from "node:fs";
import type { Config } from "./config/index.ts";

// Most to least severe, as mlog orders them; a target at level L logs L and
// everything more severe. "stdlog" (mlog's catch-all) logs everything.
const ORDER = ["panic", "fatal", "error", "warn", "info", "debug", "trace", "stdlog"] as const;
export type Level = "error" | "warn" | "info" | "debug" | "trace";
export type Fields = Record<string, unknown>;

export interface Logger {
  error(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
  trace(msg: string, fields?: Fields): void;
  with(fields: Fields): Logger;
  close(): void;
}

export interface Sink {
  // Lowest severity this sink wants (index in ORDER).
  threshold: number;
  write(level: Level, ts: Date, msg: string, fields: Fields): void;
  close?(): void;
}

export function thresholdOf(level: string): number {
  const i = ORDER.indexOf(level.toLowerCase() as (typeof ORDER)[number]);
  return i < 0 ? ORDER.indexOf("info") : i;
}

export function jsonLine(level: Level, ts: Date, msg: string, fields: Fields): string {
  return JSON.stringify({ ts: ts.toISOString(), level, msg, ...fields }, jsonSafe) + "\n";
}

const COLORS: Record<Level, string> = {
  error: "\x1b[31m",
  warn: "\x1b[33m",
  info: "\x1b[36m",
  debug: "\x1b[37m",
  trace: "\x1b[90m",
};

// mlog's plain layout: level, timestamp, message padded to 45, key=value.
export function plainLine(level: Level, ts: Date, msg: string, fields: Fields, color: boolean): string {
  const stamp = ts.toISOString().replace("T", " ").replace("Z", " Z");
  const lvl = color ? `${COLORS[level]}${level.padEnd(5)}\x1b[0m` : level.padEnd(5);
  const kv = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v, jsonSafe)}`)
    .join(" ");
  return `${lvl} [${stamp}] ${msg.padEnd(45)} ${kv}`.trimEnd() + "\n";
}

function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Error) return v.message;
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
  return v;
}

export function consoleSink(level: string, json: boolean, color: boolean): Sink {
  return {
    threshold: thresholdOf(level),
    write: (lvl, ts, msg, fields) =>
      process.stdout.write(json ? jsonLine(lvl, ts, msg, fields) : plainLine(lvl, ts, msg, fields, color)),
  };
}

// Synchronous appends: lines are never lost on exit, and a log line costs
// microseconds, far below anything the control plane does per message.
export function fileSink(path: string, level: string, json: boolean): Sink {
  const fd = openSync(path, "a", 0o600);
  return {
    threshold: thresholdOf(level),
    write: (lvl, ts, msg, fields) =>
      writeSync(fd, json ? jsonLine(lvl, ts, msg, fields) : plainLine(lvl, ts, msg, fields, false)),
    close: () => closeSync(fd),
  };
}

export function createLogger(sinks: Sink[], base: Fields = {}): Logger {
  const emit = (level: Level, msg: string, fields?: Fields) => {
    const idx = ORDER.indexOf(level);
    const ts = new Date();
    for (const s of sinks) {
      if (idx > s.threshold) continue;
      try {
        s.write(level, ts, msg, fields ? { ...base, ...fields } : base);
      } catch {
        // A full disk or closed stdout must not take the server down.
      }
    }
  };
  return {
    error: (m, f) => emit("error", m, f),
    warn: (m, f) => emit("warn", m, f),
    info: (m, f) => emit("info", m, f),
    debug: (m, f) => emit("debug", m, f),
    trace: (m, f) => emit("trace", m, f),
    with: (fields) => createLogger(sinks, { ...base, ...fields }),
    close: () => {
      for (const s of sinks) s.close?.();
    },
  };
}

export function loggerFromConfig(cfg: Config["logger"]): Logger {
  const sinks: Sink[] = [];
  if (cfg.enable_console) sinks.push(consoleSink(cfg.console_level, cfg.console_json, cfg.enable_color));
  if (cfg.enable_file) sinks.push(fileSink(cfg.file_location, cfg.file_level, cfg.file_json));
  return createLogger(sinks);
}

// For tests and embedders that do not want output.
export const silentLogger: Logger = createLogger([]);
