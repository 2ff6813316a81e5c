import { randomUUID } from "node:crypto";

/**
 * The retry loop of error-handling-and-retries.txt, in TypeScript, with the two ways to get it
 * right or wrong: `stable` sends one Idempotency-Key for every attempt (correct), `per-attempt`
 * mints a new key on each (the mistake the guide warns about). Backoff is scaled down for tests.
 */
export interface RetryOutcome {
  status: number | null;
  attempts: number;
  keys: string[];
  waitedMs: number[];
}

const RETRYABLE = new Set([409, 429, 500, 502, 503, 504]);

export async function writeWithRetry(input: {
  url: string;
  token: string;
  body: unknown;
  keys: "stable" | "per-attempt";
  maxAttempts?: number;
  baseDelayMs?: number;
}): Promise<RetryOutcome> {
  const maxAttempts = input.maxAttempts ?? 5;
  const baseDelayMs = input.baseDelayMs ?? 20;
  const stableKey = randomUUID();
  const outcome: RetryOutcome = { status: null, attempts: 0, keys: [], waitedMs: [] };
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    const key = input.keys === "stable" ? stableKey : randomUUID();
    outcome.attempts += 1;
    outcome.keys.push(key);
    let retryAfterSeconds = 0;
    try {
      const response = await fetch(input.url, {
        method: "POST",
        headers: { Authorization: `Bearer ${input.token}`, "Content-Type": "application/json", "Idempotency-Key": key },
        body: JSON.stringify(input.body),
      });
      const text = await response.text();
      outcome.status = response.status;
      if (response.status < 400) {
        JSON.parse(text); // a truncated body is a failure too: retry
        return outcome;
      }
      if (!RETRYABLE.has(response.status)) return outcome;
      retryAfterSeconds = Number(response.headers.get("retry-after") ?? 0);
    } catch {
      outcome.status = null; // reset, dropped or unreadable: retry
    }
    const backoff = baseDelayMs * 2 ** attempt;
    const wait = Math.max(retryAfterSeconds * 1000, backoff);
    outcome.waitedMs.push(wait);
    // Wall time on purpose, as a real client waits: the attempt before must have finished on the server.
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return outcome;
}
