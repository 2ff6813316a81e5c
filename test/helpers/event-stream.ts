export interface ServerSentEvent {
  event: string;
  id: string | undefined;
  data: string;
}

export interface EventStreamReader {
  readonly response: Response;
  /** Every event with data so far, in order. */
  readonly seen: ServerSentEvent[];
  /** Every comment line so far (`: heartbeat`), without the colon. */
  readonly comments: string[];
  readonly ended: boolean;
  /** Reads until `predicate` holds for something seen, or fails after `timeoutMs` or when the stream ends. */
  until(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** The data of the `entry` events so far (journal entries), parsed. */
  entries<T = Record<string, unknown>>(): T[];
  close(): void;
}

/**
 * An EventSource-like reader of `GET /_emulator/events` over fetch, so a test can wait for the
 * event it expects. It resolves once the emulator has answered with its headers, by which time
 * it has added the stream to its listeners: what is recorded after that reaches it.
 */
export async function openEvents(url: string, options: { headers?: Record<string, string>; since?: number } = {}): Promise<EventStreamReader> {
  const controller = new AbortController();
  const query = options.since === undefined ? "" : `?since=${options.since}`;
  const response = await fetch(`${url}/_emulator/events${query}`, { headers: options.headers ?? {}, signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: ServerSentEvent[] = [];
  const comments: string[] = [];
  let buffer = "";
  let ended = false;

  const pump = async (): Promise<void> => {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      return;
    }
    buffer += value;
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event: ServerSentEvent = { event: "message", id: undefined, data: "" };
      let hasData = false;
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) comments.push(line.slice(1).trim());
        else if (line.startsWith("event: ")) event.event = line.slice(7);
        else if (line.startsWith("id: ")) event.id = line.slice(4);
        else if (line.startsWith("data: ")) {
          event.data += line.slice(6);
          hasData = true;
        }
      }
      if (hasData) seen.push(event);
    }
  };

  return {
    response,
    seen,
    comments,
    get ended() {
      return ended;
    },
    async until(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (ended) throw new Error("the event stream ended");
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out; seen: ${JSON.stringify(seen)}`);
        // A deadline in wall time on purpose: the stream is the emulator's, in real time.
        await Promise.race([pump(), new Promise((resolve) => setTimeout(resolve, left))]);
      }
    },
    entries<T = Record<string, unknown>>(): T[] {
      return seen.filter((event) => event.event === "entry").map((event) => JSON.parse(event.data) as T);
    },
    close(): void {
      controller.abort();
    },
  };
}
