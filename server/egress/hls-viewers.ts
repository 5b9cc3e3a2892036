import { HLS_VIEWER_WINDOW_MS } from '../../shared/index';

/** Per room; past it the oldest reader is forgotten (bounds memory against fake readers). */
export const MAX_HLS_READERS_PER_ROOM = 10_000;

/**
 * Counts distinct recent HLS playlist readers per room: a reader is its `sid` query parameter
 * when the page sent one, else its address + user agent. Players re-read the live playlist
 * every segment, so "read within the window" means "watching".
 */
export class HlsViewerCounter {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #rooms = new Map<string, Map<string, number>>();

  constructor(opts: { now?: () => number; windowMs?: number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#windowMs = opts.windowMs ?? HLS_VIEWER_WINDOW_MS;
  }

  record(roomId: string, readerKey: string): void {
    let readers = this.#rooms.get(roomId);
    if (!readers) {
      readers = new Map();
      this.#rooms.set(roomId, readers);
    }
    // Re-inserting keeps the Map in last-seen order, so the first entry is the oldest.
    readers.delete(readerKey);
    readers.set(readerKey, this.#now());
    if (readers.size > MAX_HLS_READERS_PER_ROOM) {
      const oldest = readers.keys().next().value;
      if (oldest !== undefined) readers.delete(oldest);
    }
  }

  count(roomId: string): number {
    const readers = this.#rooms.get(roomId);
    if (!readers) return 0;
    const cutoff = this.#now() - this.#windowMs;
    for (const [key, at] of readers) {
      if (at >= cutoff) break;
      readers.delete(key);
    }
    return readers.size;
  }

  forget(roomId: string): void {
    this.#rooms.delete(roomId);
  }
}

/**
 * A reader key from the request: a well-formed sid, else address + user agent. Null for a room
 * member's page (sid `member_…`): that viewer is already counted through its stats.
 */
export function readerKeyOf(sid: unknown, address: string, userAgent: string): string | null {
  if (typeof sid === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(sid)) {
    return sid.startsWith('member_') ? null : `s:${sid}`;
  }
  return `a:${address}|${userAgent.slice(0, 200)}`;
}
