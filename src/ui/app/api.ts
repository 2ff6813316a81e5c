import type { Envelope } from "../../domain/envelope.js";
import { controlAuth } from "./auth.js";

/** The control plane over fetch: same origin, the `{success, data}` envelope unwrapped, the control token sent when there is one. */

export class ControlError extends Error {
  override readonly name = "ControlError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The envelope's `details.path`: the field at fault, when the server named one (`schedule.every`). */
    readonly path: string | null = null,
  ) {
    super(message);
  }
}


export async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  // A call refused for want of the control token waits for it to be entered, then goes again.
  for (;;) {
    const sent = controlAuth.token;
    const headers: Record<string, string> = { Accept: "application/json", ...controlAuth.headers() };
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    response = await fetch(`/_emulator${path}`, init);
    if (response.status !== 401 || !(await controlAuth.refused(sent, response))) break;
  }
  let parsed: Envelope<T> | undefined;
  try {
    parsed = (await response.json()) as Envelope<T>;
  } catch {
    parsed = undefined;
  }
  if (!response.ok || parsed?.success !== true) {
    // Whatever came back (a proxy's HTML page, a truncated body) is read defensively.
    const error: Partial<Extract<Envelope<T>, { success: false }>["error"]> | undefined = parsed?.success === false ? parsed.error : undefined;
    const at: unknown = error?.details?.path;
    throw new ControlError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `${method} ${path}: HTTP ${response.status}`,
      typeof at === "string" && at !== "" ? at : null,
    );
  }
  return parsed.data;
}

/** `?a=1&b=x` from the defined values, or "". */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== "") search.set(key, String(value));
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * A view's call of the control plane, settled: `apply` takes the data; a refusal or a network
 * failure goes to `onError` as its message, never on up as a rejection nobody handles.
 */
export function settle<T>(request: Promise<T>, handlers: { apply: (data: T) => void; onError: (message: string) => void }): Promise<void> {
  return request.then(handlers.apply).catch((failure: unknown) => handlers.onError(errorText(failure)));
}
