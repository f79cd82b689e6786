// A login flood as its own process, so its CPU use does not delay the
// werift peers of the test that runs it: `concurrency` loops POST /login
// with a wrong key for a known client ID, from `source` (a loopback address
// other than the legitimate client's), for `seconds`. Prints one JSON line:
// how many answers of each status and how many failed to connect.
//
//   node login-flood.ts <url> <clientID> <source> <seconds> <concurrency>
import { Agent, request } from "node:http";

const [url = "", clientID = "", source = "127.0.0.2", seconds = "10", concurrency = "64"] =
  process.argv.slice(2);
const until = Date.now() + Number(seconds) * 1000;
const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency), localAddress: source });
const statuses: Record<string, number> = {};
let errors = 0;
let sent = 0;

function login(i: number): Promise<void> {
  const body = JSON.stringify({ clientID, authKey: `wrong-key-${i}-`.padEnd(40, "x") });
  return new Promise((resolve) => {
    const req = request(`${url}/login`, { method: "POST", agent }, (res) => {
      statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
      res.resume();
      res.on("end", resolve);
      res.on("error", resolve);
    });
    req.on("error", () => {
      errors++;
      resolve();
    });
    req.end(body);
  });
}

async function loop(): Promise<void> {
  while (Date.now() < until) await login(sent++);
}

await Promise.all(Array.from({ length: Number(concurrency) }, loop));
agent.destroy();
process.stdout.write(JSON.stringify({ sent, statuses, errors }) + "\n");
