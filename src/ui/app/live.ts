import { useEffect, useRef, useState } from "preact/hooks";
import type { JobEvent, JournalEntry } from "./types.js";

export type LiveEvent =
  | { kind: "entry"; entry: JournalEntry }
  | { kind: "cleared"; workspace: string | null }
  | { kind: "job"; job: JobEvent }
  | { kind: "connection"; state: ConnectionState };

export type ConnectionState = "connecting" | "open" | "reconnecting";

/** Entries kept in the page; older ones are still in the emulator's journal. */
const MAX_ENTRIES = 2000;

/**
 * The one EventSource of the page (GET /_emulator/events): the journal as it grows, clears and
 * job changes. Views subscribe to it to redraw or refetch, so nothing polls.
 */
export class LiveFeed {
  entries: JournalEntry[] = [];
  state: ConnectionState = "connecting";
  readonly #listeners = new Set<(event: LiveEvent) => void>();
  #source: EventSource | undefined;

  connect(): void {
    if (this.#source) return;
    // since=0 replays what the journal holds; a reconnect sends Last-Event-ID instead.
    const source = new EventSource("/_emulator/events?since=0");
    this.#source = source;
    source.addEventListener("open", () => this.#setState("open"));
    source.addEventListener("error", () => this.#setState(source.readyState === EventSource.CLOSED ? "connecting" : "reconnecting"));
    source.addEventListener("entry", (event) => {
      const entry = JSON.parse((event as MessageEvent<string>).data) as JournalEntry;
      const last = this.entries.at(-1);
      if (last && entry.seq <= last.seq) return; // already seen before a reconnect
      this.entries = [...this.entries.slice(-(MAX_ENTRIES - 1)), entry];
      this.#emit({ kind: "entry", entry });
    });
    source.addEventListener("cleared", (event) => {
      const { workspace } = JSON.parse((event as MessageEvent<string>).data) as { workspace: string | null };
      this.entries = workspace === null ? [] : this.entries.filter((entry) => entry.workspace !== workspace);
      this.#emit({ kind: "cleared", workspace });
    });
    source.addEventListener("job", (event) => {
      this.#emit({ kind: "job", job: JSON.parse((event as MessageEvent<string>).data) as JobEvent });
    });
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
