/**
 * The control token, when the emulator was started with one (--control-token). The page asks for
 * it once, on the first call the control plane refuses, and keeps it in sessionStorage: it stays
 * for this tab (a reload does not ask again) and is gone when the tab closes, so it is never left
 * on disk for another site or user of the browser profile.
 */

const STORAGE_KEY = "cdp-emulator.control-token";
/** The realm of the control plane's own 401 (http/control-guard.ts); any other 401 is not about this token. */
const CONTROL_REALM = 'realm="cdp-emulator-control"';

export type TokenRequest = { reason: "missing" | "refused" } | null;

function stored(): string | null {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the token then lives as long as the page
  }
}

function store(token: string | null): void {
  try {
    if (token === null) window.sessionStorage.removeItem(STORAGE_KEY);
    else window.sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // storage disabled: kept in memory only
  }
}

export class ControlAuth {
  #token: string | null = stored();
  #request: TokenRequest = null;
  #waiting: (() => void)[] = [];
  readonly #listeners = new Set<(request: TokenRequest) => void>();

  /** The token calls send now, or null. */
  get token(): string | null {
    return this.#token;
  }

  /** What the page should ask for now: null when nothing. */
  get request(): TokenRequest {
    return this.#request;
  }

  /** The headers that carry the token, to spread into a fetch's headers. */
  headers(): Record<string, string> {
    return this.#token === null ? {} : { Authorization: `Bearer ${this.#token}` };
  }

  /**
   * A call sent with `sent` was answered 401: resolves with true once it is worth sending again,
   * false when the 401 is the call's own answer. A 401 of the control plane asks for the token
   * (once, however many calls were refused together); any other 401 means the token is not wanted
   * at all (an emulator restarted without one), so it is dropped and the call sent without it.
   */
  refused(sent: string | null, response: Response): Promise<boolean> {
    if (sent !== this.#token) return Promise.resolve(true); // a token was entered meanwhile: use it
    const challenge = response.headers.get("www-authenticate") ?? "";
    if (!challenge.includes(CONTROL_REALM)) {
      if (sent === null) return Promise.resolve(false);
      this.#forget();
      return Promise.resolve(true);
    }
    if (sent !== null) this.#forget();
    // Already asking (another call was refused first): keep that question, "refused" included.
    if (this.#request === null) this.#ask({ reason: sent === null ? "missing" : "refused" });
    return new Promise((resolve) => this.#waiting.push(() => resolve(true)));
  }

  /** The token the person entered: every call waiting for it is sent again with it. */
  submit(token: string): void {
    const value = token.trim();
    if (value === "") return;
    this.#token = value;
    store(value);
    this.#ask(null);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resume of waiting) resume();
  }

  subscribe(listener: (request: TokenRequest) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #forget(): void {
    this.#token = null;
    store(null);
  }

  #ask(request: TokenRequest): void {
    this.#request = request;
    for (const listener of this.#listeners) listener(request);
  }
}

/** The page's one token holder: calls and the live feed share it. */
export const controlAuth = new ControlAuth();
