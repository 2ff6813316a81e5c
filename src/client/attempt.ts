import { CdpApiError, CLIENT_ERROR_CODES } from "./errors.js";
import { parseRetryAfterMs } from "./retry.js";

/**
 * One HTTP attempt of a call, and what became of it: the API's data, or a `CdpApiError` for
 * every way it can fail (no response, a timeout, a body that is not the envelope, the API's own
 * error). The retry loop around it is the client's (client.ts).
 */

export interface RequestSpec {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal | undefined;
}

export interface Answer<T> {
  data: T;
  status: number;
  correlationId: string | null;
  attempts: number;
  replayed: boolean;
}

/** What every attempt of one client shares. */
export interface AttemptContext {
  fetch: typeof fetch;
  token: string;
  timeoutMs: number;
  /** The time source for Retry-After dates. */
  now: () => number;
  /** Sees the headers of every response, an error's too: the rate-limit budget is in them. */
  onResponse: (headers: Headers) => void;
}

/** One HTTP attempt under its own timeout; every failure becomes a CdpApiError. */
export async function sendAttempt<T>(
  context: AttemptContext,
  request: { spec: RequestSpec; url: URL; body: string | undefined },
): Promise<Omit<Answer<T>, "attempts">> {
  const { spec, url, body } = request;
  if (spec.signal?.aborted) throw spec.signal.reason;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("attempt timed out")), context.timeoutMs);
  const onCallerAbort = (): void => controller.abort(spec.signal?.reason);
  spec.signal?.addEventListener("abort", onCallerAbort, { once: true });

  const headers: Record<string, string> = { Authorization: `Bearer ${context.token}`, Accept: "application/json" };
  if (spec.body !== undefined) headers["Content-Type"] = "application/json";
  if (spec.idempotencyKey !== undefined) headers["Idempotency-Key"] = spec.idempotencyKey;
  const base = { idempotencyKey: spec.idempotencyKey, attempts: 1 };

  let response: Response;
  let text: string;
  try {
    response = await context.fetch(url, {
      method: spec.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: controller.signal,
    });
    text = await response.text();
  } catch (error) {
    if (spec.signal?.aborted) throw spec.signal.reason;
    const timedOut = controller.signal.aborted;
    throw new CdpApiError({
      ...base,
      status: 0,
      code: timedOut ? CLIENT_ERROR_CODES.timeout : CLIENT_ERROR_CODES.network,
      message: timedOut
        ? `${spec.method} ${spec.path}: no complete response within ${context.timeoutMs} ms`
        : `${spec.method} ${spec.path}: ${describeNetworkError(error)}`,
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    spec.signal?.removeEventListener("abort", onCallerAbort);
  }

  const correlationId = response.headers.get("x-correlation-id");
  context.onResponse(response.headers);
  const parsed = parseJson(text);

  if (response.ok) {
    const data = isRecord(parsed) && parsed["success"] === true ? parsed["data"] : undefined;
    if (data === undefined) {
      // A 2xx that is not the API's envelope: the write may have happened, so this is a
      // retry with the same key (which replays the real answer), never a success.
      throw new CdpApiError({
        ...base,
        status: response.status,
        code: CLIENT_ERROR_CODES.malformed,
        message: `${spec.method} ${spec.path}: ${response.status} with a body that is not the API's JSON envelope (${preview(text)})`,
        correlationId,
      });
    }
    return {
      data: data as T,
      status: response.status,
      correlationId,
      replayed: response.headers.get("idempotent-replayed") === "true",
    };
  }

  const envelope = isRecord(parsed) && isRecord(parsed["error"]) ? parsed["error"] : undefined;
  const code = typeof envelope?.["code"] === "string" ? envelope["code"] : `HTTP_${response.status}`;
  const message = typeof envelope?.["message"] === "string" ? envelope["message"] : `${response.status} ${response.statusText} (${preview(text)})`;
  const retryAfterMs = parseRetryAfterMs(response.headers.get("retry-after"), context.now());
  throw new CdpApiError({
    ...base,
    status: response.status,
    code,
    message,
    details: envelope?.["details"] ?? null,
    correlationId,
    ...(retryAfterMs === undefined ? {} : { retryAfterSeconds: retryAfterMs / 1000 }),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat === "") return "empty body";
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

/** undici hides the useful part (ECONNRESET, ECONNREFUSED…) in `cause`. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return `${error.message} (${typeof code === "string" ? `${code}: ` : ""}${cause.message})`;
  }
  return error.message;
}
