import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import type { Request, RequestHandler } from "express";
import { ApiError } from "../domain/errors.js";

/**
 * The control plane (`/_emulator`) and the dashboard can wipe data, switch faults on, hold the
 * worker and mint tokens, so they answer only the developer's own tools:
 *
 * 1. `Origin`, when a browser sends one, must be the emulator's own (`http://` + Host): any other
 *    web page the developer happens to open is refused (403), and no CORS header is ever sent, so
 *    a browser never lets such a page read an answer either.
 * 2. `Host` must be a name the emulator knows it is reached by (loopback, the listening address,
 *    `--allowed-host`): a DNS-rebinding page (Host: attacker.example, resolved to 127.0.0.1) is
 *    same-origin to itself and passes 1, but not this (403).
 * 3. With a control token configured, `Authorization: Bearer <control token>` (401 otherwise).
 *
 * `openPaths` (the health check) answer GET/HEAD to anyone: a container healthcheck or a load
 * balancer probes by whatever name it has, and health holds no data and changes nothing.
 */
export interface ControlGuardOptions {
  /** The address the server listens on (config.host); a wildcard (0.0.0.0, ::) means every address of this machine. */
  listenHost: string;
  /** More names to answer as `Host` (--allowed-host), e.g. a compose service name. */
  allowedHosts: readonly string[];
  /** The bearer token every guarded request must carry, or null when none is configured. */
  controlToken: string | null;
  /** Paths below the mount that GET and HEAD reach from any host and origin, without the token. */
  openPaths?: readonly string[];
}

/** The control plane's own challenge: the dashboard asks for the control token only on this realm. */
export const CONTROL_REALM = "cdp-emulator-control";
const CHALLENGE = { "WWW-Authenticate": `Bearer realm="${CONTROL_REALM}"` };
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** What an error quotes of a header the client sent: enough to recognise it, never a big echo. */
const QUOTE_MAX = 100;

export function controlGuard(options: ControlGuardOptions): RequestHandler {
  // The listening address as configured, a wildcard too: the ready line prints http://0.0.0.0:port,
  // and an address (unlike a name) cannot be rebound to point here.
  const known = new Set<string>();
  for (const host of [options.listenHost, ...options.allowedHosts]) {
    const name = hostNameOf(host);
    if (name !== null) known.add(name);
  }
  const wildcard = isWildcard(options.listenHost);
  const open = new Set((options.openPaths ?? []).map(withoutTrailingSlash));
  const expected = options.controlToken === null ? null : digest(options.controlToken);

  const hostAllowed = (name: string): boolean =>
    isLoopbackName(name) || known.has(name) || (wildcard && interfaceAddresses().has(name));

  return (req, _res, next) => {
    if ((req.method === "GET" || req.method === "HEAD") && open.has(withoutTrailingSlash(req.path))) {
      next();
      return;
    }
    const hostHeader = req.get("host") ?? "";
    const origin = req.get("origin");
    // Checked before Host so a foreign page is told what it is (cross-origin) whatever name it
    // used; an Origin equal to http://<a foreign Host> (rebinding) passes here and fails below.
    if (origin !== undefined && !isOwnOrigin(origin, hostHeader)) {
      throw new ApiError(
        "FORBIDDEN",
        `Cross-origin requests to the control plane are refused: Origin ${quote(origin)} is not this emulator's own (http://${quote(hostHeader)}); open the dashboard from the emulator itself, or call the control plane from a test or a script, which sends no Origin`,
        { details: { path: "Origin", value: quote(origin) } },
      );
    }
    const name = hostNameOf(hostHeader);
    if (name === null || !hostAllowed(name)) {
      throw new ApiError(
        "FORBIDDEN",
        `The control plane does not answer to Host ${quote(hostHeader) || "(none)"}: only loopback names (localhost, 127.0.0.1, [::1]), the address it listens on and the names given with --allowed-host (or CDP_EMULATOR_ALLOWED_HOSTS) are answered; start it with --allowed-host ${name ?? "<name>"} to reach it by that name`,
        { details: { path: "Host", value: quote(hostHeader) } },
      );
    }
    if (expected !== null) {
      checkControlToken(req, expected);
      // The header was the control credential, not a workspace's bearer token: a route that picks
      // its workspace from a bearer token (workspaceOf) must not read it as one, so it falls back
      // to ?workspace=. Nothing after this point can see, log or journal the control token.
      delete req.headers.authorization;
    }
    next();
  };
}

function checkControlToken(req: Request, expected: Buffer): void {
  const header = req.get("authorization");
  if (header === undefined || header.trim() === "") {
    throw new ApiError(
      "UNAUTHORIZED",
      'This emulator\'s control plane needs its control token: send "Authorization: Bearer <control token>", the value given with --control-token (or CDP_EMULATOR_CONTROL_TOKEN)',
      { headers: CHALLENGE },
    );
  }
  const sent = BEARER.exec(header)?.[1];
  // Digests of equal length, compared in constant time: the answer's timing tells nothing about
  // how much of a guess was right, nor the token's length.
  if (sent === undefined || !timingSafeEqual(digest(sent), expected)) {
    throw new ApiError("TOKEN_INVALID", "The control token is wrong: send the value given with --control-token (or CDP_EMULATOR_CONTROL_TOKEN) as \"Authorization: Bearer <control token>\"", {
      headers: CHALLENGE,
    });
  }
}

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * Loopback names: `localhost` and any `*.localhost` (RFC 6761 reserves them for loopback, browsers
 * resolve them to it without asking DNS, and no public name server will answer for them, so an
 * attacker cannot rebind one), 127.0.0.0/8 and ::1 (addresses cannot be rebound at all).
 */
export function isLoopbackName(name: string): boolean {
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** Whether `host` (a configured address, e.g. --host) is a loopback one: listening on anything else exposes the port. */
export function isLoopbackHost(host: string): boolean {
  const name = hostNameOf(host);
  return name !== null && isLoopbackName(name);
}

/**
 * The host name of a Host header or a configured host, lower-case, without port, brackets or a
 * trailing dot, as the WHATWG URL parser reads it (so `LOCALHOST.:80` is `localhost` and
 * `0x7f.1` is `127.0.0.1`); null when it is no host name at all.
 */
export function hostNameOf(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed === "" || /[\s/?#@\\]/.test(trimmed)) return null;
  const text = isIP(trimmed) === 6 ? `[${trimmed}]` : trimmed;
  let hostname: string;
  try {
    hostname = new URL(`http://${text}`).hostname;
  } catch {
    return null;
  }
  if (hostname.startsWith("[")) return hostname.slice(1, -1);
  return hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
}

function isOwnOrigin(origin: string, hostHeader: string): boolean {
  if (hostHeader === "" || /[\s/?#@\\]/.test(hostHeader)) return false;
  try {
    // The emulator speaks plain HTTP only, so its own origin is http://<Host>; URL normalises case
    // and the default port on both sides. "null" (a sandboxed frame, a file:) does not parse.
    return new URL(origin).origin === new URL(`http://${hostHeader}`).origin;
  } catch {
    return false;
  }
}

function isWildcard(host: string): boolean {
  const name = hostNameOf(host);
  return name === "0.0.0.0" || name === "::";
}

/**
 * This machine's interface addresses, read at each use rather than once: a container gets its
 * address on start and a laptop changes networks. Read only for a Host that nothing else allows.
 */
function interfaceAddresses(): Set<string> {
  const addresses = new Set<string>();
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      const name = hostNameOf(entry.address);
      if (name !== null) addresses.add(name);
    }
  }
  return addresses;
}

const withoutTrailingSlash = (path: string): string => (path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path);

const quote = (value: string): string => (value.length > QUOTE_MAX ? `${value.slice(0, QUOTE_MAX)}…` : value);
