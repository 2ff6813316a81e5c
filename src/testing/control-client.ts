/**
 * A small typed client of the emulator's control plane (`/_emulator`), for test suites, Pact
 * provider states and the CLI. Plain fetch, no emulator imports: it works against an emulator in
 * the same process, another process or a container.
 */
// Types only: erased at build time, so the runtime still imports nothing of the emulator.
import type { AuditReport, FaultAction, FaultMatch, FaultRule, FaultSchedule, JournalEntry, JournalFilter, ScenarioSummary } from "../domain/control-plane.js";
import type { ClockView } from "../services/chaos-control.js";
import type { ScenarioApplied } from "../services/scenario-runner.js";
import type { SeedResult } from "../services/seeding.js";

/** A fault rule as the server keeps and answers it. */
export type { FaultRule };

/**
 * What POST /_emulator/faults takes: the server's rule shape, with the operation and status
 * widened to what a caller often holds in a variable (a string, a number). The server checks
 * those at run time and answers 400 naming the field, so they need not be narrowed first.
 */
export interface FaultRuleInput {
  match?: Omit<FaultMatch, "operation"> & { operation?: string };
  action: Omit<FaultAction, "status"> & { status?: number };
  schedule?: FaultSchedule;
  /** False adds the rule switched off; true when absent. */
  enabled?: boolean;
}
export type { ScenarioApplied, SeedResult, ScenarioSummary };

export interface MintTokenInput {
  workspace: string;
  /** A chosen value (so a test can expire the exact token its client sends); minted when absent. */
  token?: string;
  scopes?: string[];
  /** Seconds until it expires; never, when absent. */
  expiresIn?: number;
}

/** The emulator clock as GET and POST /_emulator/clock answer it. */
export type ClockState = ClockView;

/** Paging and order of a records listing; any other key is an exact match on that field. */
export interface RecordListOptions {
  /** Write order: `oldest` first (the default) or `newest` first. */
  order?: "oldest" | "newest";
  limit?: number;
  /** The `nextCursor` of the page before, listed in the same order. */
  cursor?: string;
  workspace?: string;
  [field: string]: string | number | undefined;
}

/** The journal's own filter, plus how many of the most recent entries to return. */
export type JournalQuery = JournalFilter & { limit?: number };

/** As the journal keeps it (request and response bodies included); one type for both sides. */
export type { JournalEntry } from "../domain/control-plane.js";

/** Which journal the retry audit judges: a workspace's (`default` when absent), after a seq when given. */
export interface AuditQuery {
  workspace?: string;
  /** A journal seq: only entries after it are judged (the `lastSeq` of an earlier report, say). */
  since?: number;
}
export type { AuditReport };


export class ControlPlaneError extends Error {
  override readonly name = "ControlPlaneError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ControlClientOptions {
  /** The emulator's control token (--control-token), sent as `Authorization: Bearer` on every call; none when absent. */
  controlToken?: string | null;
}

export class ControlClient {
  readonly baseUrl: string;
  // Private, so it never shows in a test's printed or serialised client.
  readonly #authorization: Record<string, string>;

  /** `url` is the emulator's root, e.g. `http://127.0.0.1:4010`. */
  constructor(url: string, options: ControlClientOptions = {}) {
    this.baseUrl = `${url.replace(/\/+$/, "")}/_emulator`;
    const token = options.controlToken ?? null;
    this.#authorization = token === null ? {} : { Authorization: `Bearer ${token}` };
  }

  health(): Promise<Record<string, unknown>> {
    return this.request("GET", "/health");
  }

  /** Wipes data, jobs, journal, faults and rate-limit state: everything, or one workspace's. */
  reset(workspace?: string): Promise<unknown> {
    return this.request("POST", `/reset${query({ workspace })}`, {});
  }

  readonly faults = {
    add: (rule: FaultRuleInput): Promise<FaultRule> => this.request("POST", "/faults", rule),
    list: async (): Promise<FaultRule[]> => (await this.request<{ faults: FaultRule[] }>("GET", "/faults")).faults,
    remove: (id: string): Promise<unknown> => this.request("DELETE", `/faults/${encodeURIComponent(id)}`),
    clear: (): Promise<unknown> => this.request("DELETE", "/faults"),
    /** Switches a rule back on: it matches, counts and fires again. */
    enable: (id: string): Promise<FaultRule> => this.request("PATCH", `/faults/${encodeURIComponent(id)}`, { enabled: true }),
    /** Switches a rule off without removing it: it neither fires nor counts until enabled again. */
    disable: (id: string): Promise<FaultRule> => this.request("PATCH", `/faults/${encodeURIComponent(id)}`, { enabled: false }),
  };

  readonly clock = {
    get: (): Promise<ClockState> => this.request("GET", "/clock"),
    freeze: (): Promise<ClockState> => this.request("POST", "/clock", { freeze: true }),
    unfreeze: (): Promise<ClockState> => this.request("POST", "/clock", { freeze: false }),
    /** An ISO 8601 duration such as "PT24H1S", or milliseconds. */
    advance: (by: string | number): Promise<ClockState> =>
      this.request("POST", "/clock", typeof by === "number" ? { advanceMs: by } : { advance: by }),
    set: (to: string): Promise<ClockState> => this.request("POST", "/clock", { set: to }),
  };

  readonly journal = {
    list: async (filter: JournalQuery = {}): Promise<JournalEntry[]> =>
      (await this.request<{ entries: JournalEntry[] }>("GET", `/journal${query(filter)}`)).entries,
    count: async (filter: Omit<JournalQuery, "limit"> = {}): Promise<number> =>
      (await this.request<{ count: number }>("GET", `/journal/count${query(filter)}`)).count,
    clear: (): Promise<unknown> => this.request("DELETE", "/journal"),
  };

  readonly workspaces = {
    /** A fresh isolated workspace and a token for it (all scopes). */
    create: (name?: string): Promise<{ workspace: string; token: string; scopes: string[] }> =>
      this.request("POST", "/workspaces", name === undefined ? {} : { name }),
    mintToken: (input: MintTokenInput): Promise<{ token: string; workspace: string; scopes: string[]; expiresAt: string | null }> =>
      this.request("POST", "/tokens", input),
  };

  readonly records = {
    /**
     * The first page of an object's rows (`limit`, at most 1,000), oldest first unless
     * `order: "newest"`; any other option is an exact match on a field.
     */
    list: async (object: string, filter: RecordListOptions = {}): Promise<Record<string, unknown>[]> =>
      (await this.request<{ records: Record<string, unknown>[] }>("GET", `/records/${encodeURIComponent(object)}${query(filter)}`)).records,
    /** One row by its id (the `X-Emulator-Record-Id` of the write that made it). */
    get: (object: string, rowId: string, workspace?: string): Promise<Record<string, unknown>> =>
      this.request("GET", `/records/${encodeURIComponent(object)}/${encodeURIComponent(rowId)}${query({ workspace })}`),
    /** Puts exact fixture rows in (upserted by primary key when they hold one). */
    put: (object: string, records: Record<string, unknown>[], workspace?: string): Promise<{ written: number }> =>
      this.request("POST", `/records/${encodeURIComponent(object)}`, workspace === undefined ? { records } : { records, workspace }),
  };

  readonly jobs = {
    /** Creates a batch job and (unless jobs are held) runs it to its end before answering. */
    create: (input: {
      object: string;
      operation: "append-batch" | "upsert-batch";
      records: unknown[];
      matchKey?: string;
      workspace?: string;
    }): Promise<{ jobId: string; state: string; metrics: Record<string, number> }> => this.request("POST", "/jobs", input),
    /** The first page of a workspace's jobs, as the job status endpoint shows them. */
    list: async (filter: { state?: "queued" | "processing" | "completed" | "failed"; workspace?: string; limit?: number } = {}): Promise<
      Record<string, unknown>[]
    > => (await this.request<{ jobs: Record<string, unknown>[] }>("GET", `/jobs${query(filter)}`)).jobs,
    hold: (): Promise<unknown> => this.request("POST", "/jobs/hold"),
    release: (): Promise<unknown> => this.request("POST", "/jobs/release"),
  };

  readonly scenarios = {
    list: (): Promise<{ scenarios: ScenarioSummary[]; active: string | null }> => this.request("GET", "/scenarios"),
    /**
     * Loads a scenario by name (faults, rate limits, clock, seed data). With `workspace`, its fault
     * rules match that workspace only and its seed data goes there; rate limits and clock stay global.
     */
    apply: (name: string, options: { workspace?: string } = {}): Promise<ScenarioApplied> =>
      this.request("POST", `/scenarios/${encodeURIComponent(name)}`, options.workspace === undefined ? undefined : { workspace: options.workspace }),
  };

  /** Loads a scenario by name (faults, rate limits, clock, seed data); the same as `scenarios.apply`. */
  applyScenario(name: string): Promise<ScenarioApplied> {
    return this.scenarios.apply(name);
  }

  /** Generated, realistic records for an object; the same seed gives the same records. */
  seed(input: { object: string; count: number; seed?: number; workspace?: string }): Promise<SeedResult> {
    return this.request("POST", "/seed", input);
  }

  /** The retry audit of a workspace's journal: each of the guides' retry rules passed, failed with evidence, or not exercised. */
  audit(input: AuditQuery = {}): Promise<AuditReport> {
    return this.request("GET", `/audit${query({ workspace: input.workspace, since: input.since })}`);
  }

  /** The same audit as JUnit XML text (one testcase per rule), for a CI report. */
  async auditJunit(input: AuditQuery = {}): Promise<string> {
    const path = `/audit${query({ workspace: input.workspace, since: input.since, format: "junit" })}`;
    const response = await fetch(`${this.baseUrl}${path}`, { headers: { ...this.#authorization } });
    const text = await response.text();
    if (!response.ok) {
      let error: { code?: string; message?: string } | undefined;
      try {
        error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        error = undefined;
      }
      throw new ControlPlaneError(response.status, error?.code ?? `HTTP_${response.status}`, `GET /_emulator${path}: ${response.status} ${error?.message ?? text.slice(0, 200)}`);
    }
    return text;
  }

  getRateLimits(): Promise<{ single: { limit: number; windowSeconds: number }; batch: { limit: number; windowSeconds: number } }> {
    return this.request("GET", "/rate-limits");
  }

  setRateLimits(limits: { single?: { limit: number; windowSeconds: number }; batch?: { limit: number; windowSeconds: number } }): Promise<unknown> {
    return this.request("PUT", "/rate-limits", limits);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? { ...this.#authorization } : { ...this.#authorization, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: { success?: boolean; data?: T; error?: { code?: string; message?: string } } | undefined;
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    if (!response.ok || parsed?.success !== true) {
      throw new ControlPlaneError(
        response.status,
        parsed?.error?.code ?? `HTTP_${response.status}`,
        `${method} /_emulator${path}: ${response.status} ${parsed?.error?.message ?? text.slice(0, 200)}`,
      );
    }
    return parsed.data as T;
  }
}

function query(params: object): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params) as [string, unknown][]) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}
