import type { Request, Response, Router } from "express";
import type { Journal, JournalEvent } from "../runtime/journal.js";
import { ApiError } from "../domain/errors.js";
import type { JobsStore } from "../store/jobs-store.js";

export interface EventStreamOptions {
  journal: Journal;
  jobs: JobsStore;
  /** A comment line this often keeps proxies and idle timers from closing a quiet stream. */
  heartbeatMs?: number;
  /**
   * A client that has this much unsent data is cut off rather than buffered without end; its
   * EventSource reconnects with Last-Event-ID and is sent what it missed from the journal.
   */
  maxBufferedBytes?: number;
}

const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const BACKLOG_CHUNK_CHARS = 64 * 1024;

/**
 * The server-sent-events stream behind GET /_emulator/events: journal entries as they are
 * recorded (`event: entry`, `id: <seq>`), journal clears (`event: cleared`) and batch job state
 * changes (`event: job`). Writing to a client never waits on it, and a client that fails or falls
 * behind is dropped, so the request pipeline that records an entry is never held up.
 */
export class EventStream {
  readonly #journal: Journal;
  readonly #jobs: JobsStore;
  readonly #heartbeatMs: number;
  readonly #maxBufferedBytes: number;
  readonly #clients = new Set<Response>();
  /** Streams still being sent their backlog; they join `#clients` once caught up. */
  readonly #replaying = new Set<Response>();
  #unsubscribe: (() => void) | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: EventStreamOptions) {
    this.#journal = options.journal;
    this.#jobs = options.jobs;
    this.#heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  }

  /** Open streams. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Opens a stream on `res`. Entries after `Last-Event-ID` (sent by a reconnecting EventSource)
   * or `?since=<seq>` are sent first, from what the journal still holds.
   */
  open(req: Request, res: Response): void {
    if (this.#closed) throw new ApiError("SERVICE_UNAVAILABLE", "The emulator is stopping; the event stream is closed");
    const after = resumeAfter(req);
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    req.socket.setNoDelay(true);
    // retry: how soon a dropped EventSource reconnects (ms).
    res.write("retry: 1000\n: connected\n\n");
    if (after === undefined) {
      this.#attach(res);
      return;
    }
    this.#replaying.add(res);
    void this.#replay(res, after).finally(() => this.#replaying.delete(res));
  }

  /**
   * Sends the entries after `after` that the journal still holds, 64 KB at a time, waiting for the
   * client to take each chunk before the next: a full journal is tens of MB once presented, and a
   * client that reconnects (or many) must not make the emulator hold all of it in socket buffers.
   * Entries recorded meanwhile are caught up the same way; the stream joins the live broadcast in
   * the same tick as the last catch-up query finds nothing new, so no entry is missed or sent twice.
   */
  async #replay(res: Response, after: number): Promise<void> {
    let last = after;
    for (;;) {
      if (res.destroyed || res.writableEnded) return;
      let chunk = "";
      for (const entry of this.#journal.after(last)) {
        chunk += frame({ kind: "entry", entry });
        last = entry.seq;
        if (chunk.length >= BACKLOG_CHUNK_CHARS) break;
      }
      if (chunk === "") {
        this.#attach(res);
        return;
      }
      if (!res.write(chunk)) await drainedOrClosed(res);
    }
  }

  /** Joins the live broadcast: journal entries and clears, job changes, heartbeats. */
  #attach(res: Response): void {
    if (this.#closed) {
      res.end();
      return;
    }
    this.#clients.add(res);
    const drop = (): void => this.#remove(res);
    res.once("close", drop);
    res.once("error", drop);
    this.#unsubscribe ??= this.#journal.subscribe((event) => this.#broadcast(frame(event)));
    if (this.#heartbeat === undefined) {
      this.#heartbeat = setInterval(() => this.#broadcast(": heartbeat\n\n"), this.#heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  /** A batch job changed state or moved on: read it only when someone is listening. */
  jobChanged(jobSeq: number): void {
    if (this.#clients.size === 0) return;
    const job = this.#jobs.bySeq(jobSeq);
    if (!job) return;
    const data = {
      jobId: job.id,
      workspace: job.workspace,
      objectName: job.object,
      operation: job.operation,
      state: job.state,
      metrics: job.metrics,
    };
    this.#broadcast(`event: job\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends every stream and refuses new ones: stop() must not wait on connections that never go idle. */
  close(): void {
    this.#closed = true;
    for (const res of [...this.#replaying]) res.end();
    for (const res of [...this.#clients]) {
      this.#remove(res);
      res.end();
    }
  }

  #broadcast(text: string): void {
    for (const res of this.#clients) {
      if (res.destroyed || res.writableEnded) {
        this.#remove(res);
      } else if (res.writableLength > this.#maxBufferedBytes) {
        this.#remove(res);
        res.destroy();
      } else {
        res.write(text);
      }
    }
  }

  #remove(res: Response): void {
    this.#clients.delete(res);
    if (this.#clients.size > 0) return;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}

/**
 * One SSE frame. A journal entry is safe to stringify whatever the client sent: the journal
 * presents bodies through parseJsonBounded (at most 64 deep, well-formed text) or as flat
 * previews, which is what keeps one hostile request from closing every client's stream.
 */
function frame(event: JournalEvent): string {
  if (event.kind === "entry") return `event: entry\nid: ${event.entry.seq}\ndata: ${JSON.stringify(event.entry)}\n\n`;
  return `event: cleared\ndata: ${JSON.stringify({ workspace: event.workspace })}\n\n`;
}

/** Resolves when the socket can take more, or when the client has gone. */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}

function resumeAfter(req: Request): number | undefined {
  const raw = req.get("last-event-id") ?? req.query["since"];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || !/^\d{1,15}$/.test(raw)) {
    throw new ApiError("REQUEST_INVALID", "since (or Last-Event-ID): must be a journal seq, a whole number", {
      details: { path: "since", value: raw },
    });
  }
  return Number(raw);
}

/** GET /events: a text/event-stream, see EventStream. */
export function registerEventRoutes(router: Router, deps: { events: EventStream }): void {
  router.get("/events", (req, res) => {
    deps.events.open(req, res);
  });
}
