// The credential store: client ID -> key hash, in an embedded SQLite
// database (node:sqlite) inside the RTCD_STORE_DATASOURCE directory, so
// registrations survive restarts like rtcd's bitcask store does.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";

export interface CredentialStore {
  get(clientID: string): string | undefined;
  // false when the client ID is already taken.
  put(clientID: string, hash: string): boolean;
  delete(clientID: string): void;
  count(): number;
  close(): void;
}

export const DB_FILE = "rtcd.sqlite";

export function openStore(dataSource: string): CredentialStore {
  // A directory, like rtcd's bitcask data source, so existing settings
  // (e.g. /tmp/rtcd_db or a mounted volume) keep working.
  let isDir: boolean;
  try {
    isDir = statSync(dataSource).isDirectory();
  } catch {
    mkdirSync(dataSource, { recursive: true, mode: 0o700 });
    isDir = true;
  }
  if (!isDir) throw new Error(`store data source ${dataSource} exists and is not a directory`);
  const file = join(dataSource, DB_FILE);
  // Create the file owner-only before SQLite opens it (SQLite copies the
  // mode to its -wal and -shm files).
  closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec(
    "CREATE TABLE IF NOT EXISTS credentials (client_id TEXT PRIMARY KEY NOT NULL, key_hash TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT",
  );
  const q: Record<string, StatementSync> = {
    get: db.prepare("SELECT key_hash FROM credentials WHERE client_id = ?"),
    put: db.prepare(
      "INSERT INTO credentials (client_id, key_hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    ),
    del: db.prepare("DELETE FROM credentials WHERE client_id = ?"),
    count: db.prepare("SELECT count(*) AS n FROM credentials"),
  };
  return {
    get: (id) => (q["get"]!.get(id) as { key_hash: string } | undefined)?.key_hash,
    put: (id, hash) => Number(q["put"]!.run(id, hash, Date.now()).changes) === 1,
    delete: (id) => void q["del"]!.run(id),
    count: () => Number((q["count"]!.get() as { n: number }).n),
    close: () => db.close(),
  };
}
