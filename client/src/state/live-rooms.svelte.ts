import { z } from 'zod';
import {
  ListedRoomSchema,
  PublicStreamSchema,
  type ListedRoom,
  type PublicStream,
} from '../../../shared/index';
import { LIVE_ROOMS_LIMIT, mergeLiveEntries } from './live-entries';

export { LIVE_ROOMS_LIMIT, mergeLiveEntries, type LiveEntry } from './live-entries';

export const LIVE_ROOMS_REFRESH_MS = 5000;

const ListedRoomsSchema = z.union([
  z.array(ListedRoomSchema),
  z.object({ rooms: z.array(ListedRoomSchema) }).transform((body) => body.rooms),
]);

/** Accepts either a bare array or `{ rooms: [...] }`; anything else is null. */
export function parseListedRooms(body: unknown): ListedRoom[] | null {
  const parsed = ListedRoomsSchema.safeParse(body);
  return parsed.success ? parsed.data.slice(0, LIVE_ROOMS_LIMIT) : null;
}

const PublicStreamsSchema = z.union([
  z.array(PublicStreamSchema),
  z.object({ streams: z.array(PublicStreamSchema) }).transform((body) => body.streams),
]);

/** `GET /api/streams` (`{ streams: [...] }` or a bare array): rooms whose mirror is on. */
export function parsePublicStreams(body: unknown): PublicStream[] | null {
  const parsed = PublicStreamsSchema.safeParse(body);
  return parsed.success ? parsed.data.slice(0, LIVE_ROOMS_LIMIT) : null;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** The "Live now" list: GET /api/rooms and /api/streams, refreshed while the home page is open. */
export class LiveRooms {
  rooms = $state.raw<ListedRoom[]>([]);
  streams = $state.raw<PublicStream[]>([]);
  entries = $derived(mergeLiveEntries(this.rooms, this.streams));
  loaded = $state(false);
  failed = $state(false);
  #fetch: FetchLike;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(fetchImpl: FetchLike = (input, init) => fetch(input, init)) {
    this.#fetch = fetchImpl;
  }

  start(intervalMs = LIVE_ROOMS_REFRESH_MS): () => void {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    return () => {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
    };
  }

  async refresh(): Promise<void> {
    await Promise.all([this.#refreshRooms(), this.#refreshStreams()]);
    this.loaded = true;
  }

  async #refreshRooms(): Promise<void> {
    try {
      const response = await this.#fetch('/api/rooms', { headers: { accept: 'application/json' } });
      const rooms = response.ok ? parseListedRooms(await response.json()) : null;
      this.failed = rooms === null;
      if (rooms) this.rooms = rooms;
    } catch {
      this.failed = true;
    }
  }

  /** A server without egress has no /api/streams: the list just has no mirrors. */
  async #refreshStreams(): Promise<void> {
    try {
      const response = await this.#fetch('/api/streams', {
        headers: { accept: 'application/json' },
      });
      const streams = response.ok ? parsePublicStreams(await response.json()) : null;
      this.streams = streams ?? [];
    } catch {
      this.streams = [];
    }
  }
}
