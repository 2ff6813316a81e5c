import type { JournalEntry } from "../../domain/control-plane.js";

/** Attempts of one logical call: every entry that shares a workspace and Idempotency-Key, or one entry alone. */
export interface EntryGroup {
  /** `workspace␀key`, or `#seq` for an entry without a key. */
  id: string;
  idempotencyKey: string | null;
  entries: JournalEntry[];
  /** "503 → 503 → 200 (replayed)". */
  chain: string;
}

export function attemptLabel(entry: JournalEntry): string {
  const status = entry.status === null ? "no response" : String(entry.status);
  return entry.replayed ? `${status} (replayed)` : status;
}

/**
 * Groups retries so a person sees a call's story on one line. Keys are per workspace, so the
 * same key in two workspaces is two calls. Groups come in the order of their latest attempt.
 */
export function groupRetries(entries: readonly JournalEntry[]): EntryGroup[] {
  const groups = new Map<string, EntryGroup>();
  const latest = new Map<string, number>();
  for (const entry of entries) {
    const id = entry.idempotencyKey === null ? `#${entry.seq}` : `${entry.workspace ?? ""}\u0000${entry.idempotencyKey}`;
    let group = groups.get(id);
    if (!group) {
      group = { id, idempotencyKey: entry.idempotencyKey, entries: [], chain: "" };
      groups.set(id, group);
    }
    group.entries.push(entry);
    latest.set(id, entry.seq);
  }
  const ordered = [...groups.values()].sort((a, b) => (latest.get(a.id) ?? 0) - (latest.get(b.id) ?? 0));
  for (const group of ordered) {
    group.entries.sort((a, b) => a.seq - b.seq);
    group.chain = group.entries.map(attemptLabel).join(" → ");
  }
  return ordered;
}

export type StatusFilter = "" | "2xx" | "3xx" | "4xx" | "5xx" | "none" | `${number}`;

export function statusMatches(filter: StatusFilter, status: number | null): boolean {
  if (filter === "") return true;
  if (filter === "none") return status === null;
  if (status === null) return false;
  if (/^\dxx$/.test(filter)) return Math.floor(status / 100) === Number(filter[0]);
  return String(status) === filter;
}
