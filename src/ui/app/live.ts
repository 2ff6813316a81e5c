import { useEffect, useRef, useState } from "preact/hooks";
import { controlAuth } from "./auth.js";
import type { JobEvent, JournalEntry } from "../../domain/control-plane.js";

export type LiveEvent =
  | { kind: "entry"; entry: JournalEntry }
  | { kind: "cleared"; workspace: string | null }
  | { kind: "job"; job: JobEvent }
  | { kind: "connection"; state: ConnectionState };

export type ConnectionState = "connecting" | "open" | "reconnecting";

/** Entries kept in the page; older ones are still in the emulator's journal. */
const MAX_ENTRIES = 2000;

/** How long to wait before reconnecting, until the stream says otherwise (its `retry:` field). */
const DEFAULT_RETRY_MS = 1000;

/** One server-sent event, as the stream's fields give it. */
interface StreamEvent {
  type: string;
  data: string;
}

/**
 * The one event stream of the page (GET /_emulator/events): the journal as it grows, clears and
 * job changes. Views subscribe to it to redraw or refetch, so nothing polls.
 *
 * Read with fetch() rather than EventSource: an EventSource cannot send headers, and the control
 * token (when the emulator has one) must travel as `Authorization: Bearer`, never in the URL,
 * where it would land in history, proxies and logs. So this reads the text/event-stream itself
 * and reconnects as an EventSource would, with Last-Event-ID.
 */
export class LiveFeed {
  entries: JournalEntry[] = [];
  state: ConnectionState = "connecting";
  readonly #listeners = new Set<(event: LiveEvent) => void>();
  #running = false;
  #lastEventId: string | undefined;
  #retryMs = DEFAULT_RETRY_MS;

  connect(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    for (;;) {
      const sent = controlAuth.token;
      try {
        // since=0 replays what the journal holds; a reconnect sends Last-Event-ID, which wins.
        const headers: Record<string, string> = { Accept: "text/event-stream", ...controlAuth.headers() };
        if (this.#lastEventId !== undefined) headers["Last-Event-ID"] = this.#lastEventId;
        const response = await fetch("/_emulator/events?since=0", { headers, cache: "no-store" });
        if (response.status === 401) {
          this.#setState("connecting");
          if (await controlAuth.refused(sent, response)) continue;
        }
        if (response.ok && response.body) {
          this.#setState("open");
          await this.#read(response.body);
        }
      } catch {
        // the connection failed or dropped: reconnect below, as an EventSource would
      }
      this.#setState("reconnecting");
      await new Promise((resolve) => window.setTimeout(resolve, this.#retryMs));
    }
  }

  /** Parses the stream (https://html.spec.whatwg.org/multipage/server-sent-events.html) until it ends. */
  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let type = "";
    let data: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // The emulator ends lines with \n; a \r before it is dropped too, even across chunks.
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? ""; // an incomplete last line waits for more
      for (const raw of lines) {
        const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
        if (line === "") {
          if (data.length > 0) this.#dispatch({ type: type || "message", data: data.join("\n") });
          type = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // a comment: the heartbeat
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = text;
        else if (field === "data") data.push(text);
        else if (field === "id") this.#lastEventId = text;
        else if (field === "retry" && /^\d+$/.test(text)) this.#retryMs = Number(text);
      }
    }
  }

  #dispatch(event: StreamEvent): void {
    if (event.type === "entry") {
      const entry = JSON.parse(event.data) as JournalEntry;
      const last = this.entries.at(-1);
      if (last && entry.seq <= last.seq) return; // already seen before a reconnect
      this.entries = [...this.entries.slice(-(MAX_ENTRIES - 1)), entry];
      this.#emit({ kind: "entry", entry });
    } else if (event.type === "cleared") {
      const { workspace } = JSON.parse(event.data) as { workspace: string | null };
      this.entries = workspace === null ? [] : this.entries.filter((entry) => entry.workspace !== workspace);
      this.#emit({ kind: "cleared", workspace });
    } else if (event.type === "job") {
      this.#emit({ kind: "job", job: JSON.parse(event.data) as JobEvent });
    }
  }

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.#emit({ kind: "connection", state });
  }

  #emit(event: LiveEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/** Calls `handler` for each live event; the latest handler is used without resubscribing. */
export function useLiveEvents(feed: LiveFeed, handler: (event: LiveEvent) => void): void {
  const current = useRef(handler);
  current.current = handler;
  useEffect(() => feed.subscribe((event) => current.current(event)), [feed]);
}

/** Redraws the component on every live event (the feed's fields are read directly). */
export function useFeedVersion(feed: LiveFeed): number {
  const [version, setVersion] = useState(0);
  useLiveEvents(feed, () => setVersion((value) => value + 1));
  return version;
}

/**
 * A function that runs `work` at most once per `ms`, trailing: a burst of events (a batch of
 * writes) costs one refetch, not one per event.
 */
export function useDebounced(work: () => void, ms: number): () => void {
  const current = useRef(work);
  current.current = work;
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const ref = useRef<() => void>(() => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      current.current();
    }, ms);
  });
  return ref.current;
}
