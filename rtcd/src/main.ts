#!/usr/bin/env node
// rtcd: `rtcd [--config config/config.toml]`. Exits 1 on a bad configuration
// (naming the key, the value and what is allowed) and 0 after a drain.
// First import, so its handlers are installed before the other modules
// (mediasoup among them) are even loaded: as PID 1 in the image a signal
// without a handler is ignored, and a SIGTERM during startup would leave the
// pod in Terminating for its whole grace period, holding its host ports.
import { processSignals as signals } from "./signals.ts";
import { Command } from "commander";
import { ConfigError, ConfigFileError, loadConfig, redacted } from "./config/index.ts";
import { loggerFromConfig, type Logger } from "./log.ts";
import { MediasoupPlane } from "./media/plane.ts";
import { Rtcd } from "./service.ts";
import { versionInfo } from "./version.ts";

// rtcd takes Go-style `-config path`; accept it next to `--config`.
const argv = process.argv.map((a) => (a === "-config" || a.startsWith("-config=") ? "-" + a : a));

const program = new Command("rtcd")
  .description("Mattermost Calls' media server (rtcd protocol v1.2.6) on mediasoup")
  .option("--config <path>", "path to the TOML configuration file", "config/config.toml")
  .version(versionInfo().buildVersion, "--version")
  .parse(argv);

const { config: configPath } = program.opts<{ config: string }>();

function fatal(msg: string): never {
  process.stderr.write(`rtcd: ${msg}\n`);
  process.exit(1);
}

let loaded;
try {
  loaded = loadConfig(configPath);
} catch (err) {
  if (err instanceof ConfigError || err instanceof ConfigFileError) fatal(err.message);
  throw err;
}
const { config } = loaded;
let log: Logger;
try {
  log = loggerFromConfig(config.logger);
} catch (err) {
  fatal(`failed to open the log file ${config.logger.file_location}: ${(err as Error).message}`);
}
signals.useLogger(log);
if (loaded.fileMissing) log.info(`config file not found at ${configPath}, using defaults`);
if (loaded.unknownKeys.length) log.warn("config: unknown keys ignored", { keys: loaded.unknownKeys });
log.info("service: starting up", { ...versionInfo() });
log.debug("config", redacted(config));

process.on("uncaughtException", (err) => {
  log.error("fatal: uncaught exception", { err: err.stack ?? String(err) });
  process.exit(1);
});

let rtcd: Rtcd;
try {
  rtcd = new Rtcd(config, log, {
    media: (metrics, l) =>
      new MediasoupPlane(
        {
          workers: config.media.workers,
          udpAddresses: config.rtc.ice_address_udp,
          udpPort: config.rtc.ice_port_udp,
          tcpAddresses: config.rtc.ice_address_tcp,
          tcpPort: config.rtc.ice_port_tcp,
          hostOverride: config.rtc.ice_host_override,
          portOverride: config.rtc.ice_host_port_override,
          producersPerSession: config.limits.producers_per_session,
          consumersPerWorker: config.media.consumers_per_worker,
        },
        metrics,
        l,
      ),
    onDrained: (reason) => {
      log.info("service: exiting", { reason });
      log.close();
      process.exit(0);
    },
  });
  signals.beforeStart(rtcd);
  await rtcd.start();
} catch (err) {
  log.error("service: failed to start", { err: (err as Error).message });
  log.close();
  process.exit(1);
}

signals.started(rtcd);
