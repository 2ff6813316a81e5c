import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { RateDecision } from "../runtime/rate-limiter.js";
import { answerClientError } from "./client-error.js";

/** How long stop() lets in-flight requests run before it cuts their connections. */
export const SHUTDOWN_GRACE_MS = 10_000;
/**
 * A keep-alive socket goes idle once its in-flight response is sent; swept this often while
 * closing, or close() would wait for the client's keep-alive timeout (Node's default is 5 s).
 */
const IDLE_SWEEP_MS = 20;

export interface ListenerOptions {
  app: RequestListener;
  host: string;
  /** 0 picks a free one. */
  port: number;
  logger: Logger;
  /** The quota headers a request refused by Node's HTTP parser carries (see client-error.ts). */
  quota: () => RateDecision;
  graceMs?: number;
}

export interface Listener {
  /** `http://host:port` while listening, else undefined. */
  readonly url: string | undefined;
  start(): Promise<{ url: string; port: number }>;
  /** Stops accepting, lets in-flight requests finish (for up to the grace time), then closes every connection. */
  stop(): Promise<void>;
}

/**
 * The HTTP server's lifecycle. Node's own server.close() with closeIdleConnections() and
 * closeAllConnections() (Node >= 19) gives a graceful close without a terminator library.
 */
export function createListener(options: ListenerOptions): Listener {
  const graceMs = options.graceMs ?? SHUTDOWN_GRACE_MS;
  let server: Server | undefined;
  let url: string | undefined;

  return {
    get url() {
      return url;
    },

    async start() {
      if (server) throw new Error("the emulator is already started");
      const listening = createServer(options.app);
      listening.on("clientError", answerClientError({ logger: options.logger, quota: options.quota }));
      await new Promise<void>((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(options.port, options.host, () => {
          listening.off("error", reject);
          resolve();
        });
      });
      server = listening;
      const { port } = listening.address() as AddressInfo;
      const host = options.host.includes(":") ? `[${options.host}]` : options.host;
      url = `http://${host}:${port}`;
      return { url, port };
    },

    async stop() {
      const closing = server;
      server = undefined;
      url = undefined;
      if (!closing) return;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => closing.closeAllConnections(), graceMs);
        const sweep = setInterval(() => closing.closeIdleConnections(), IDLE_SWEEP_MS);
        force.unref();
        closing.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          resolve();
        });
        closing.closeIdleConnections();
      });
    },
  };
}
