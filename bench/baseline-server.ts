/**
 * The baselines `npm run bench` compares the emulator with, each answering a single upsert with
 * the same JSON body the emulator sends, and nothing else:
 *
 *   node --import tsx bench/baseline-server.ts node-http   # bare node:http, body drained, not parsed
 *   node --import tsx bench/baseline-server.ts express     # bare Express 5 app with express.json()
 *
 * Prints `listening on <port>` once ready.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import express from "express";

const USAGE = "usage: baseline-server.ts node-http|express\n";

function modeFromArgs(): string | undefined {
  try {
    const { positionals } = parseArgs({ args: process.argv.slice(2), options: {}, allowPositionals: true, strict: true });
    return positionals.length === 1 ? positionals[0] : undefined;
  } catch {
    return undefined;
  }
}

const mode = modeFromArgs();
const answer = (): string =>
  JSON.stringify({
    success: true,
    data: { operation: "upsert", objectName: "profiles", accepted: true, acceptedAt: new Date().toISOString(), acceptedRecords: 1, matchKey: "email" },
  });

function announce(address: AddressInfo | string | null): void {
  process.stdout.write(`listening on ${typeof address === "object" && address ? address.port : address}\n`);
}

if (mode === "node-http") {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
      res.end(answer());
    });
  });
  server.listen(0, "127.0.0.1", () => announce(server.address()));
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
} else if (mode === "express") {
  const app = express();
  app.use(express.json());
  app.post("/public/v1/records/:object/upsert", (_req, res) => {
    res.type("application/json").send(answer());
  });
  const server = app.listen(0, "127.0.0.1", () => announce(server.address()));
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
} else {
  process.stderr.write(USAGE);
  process.exit(2);
}
