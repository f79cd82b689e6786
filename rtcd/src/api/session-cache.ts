// Bearer tokens from /login, in memory only (as in rtcd: a restart logs
// every client out). One token per client: a new login replaces the old.
export class SessionCache {
  private readonly byToken = new Map<string, { clientID: string; expiresAt: number }>();
  private readonly byClient = new Map<string, string>();

  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  // The client ID, or rtcd's error text.
  get(token: string): { clientID: string } | { error: string } {
    const s = this.byToken.get(token);
    if (!s) return { error: "token is invalid" };
    if (this.now() > s.expiresAt) {
      this.delete(s.clientID);
      return { error: "session is expired" };
    }
    return { clientID: s.clientID };
  }

  put(clientID: string, token: string): void {
    this.delete(clientID);
    this.byToken.set(token, { clientID, expiresAt: this.now() + this.ttlMs });
    this.byClient.set(clientID, token);
  }

  delete(clientID: string): void {
    const token = this.byClient.get(clientID);
    if (token === undefined) return;
    this.byToken.delete(token);
    this.byClient.delete(clientID);
  }

  get size(): number {
    return this.byToken.size;
  }
}
