import { z } from 'zod';
import {
  ListedRoomSchema,
  PublicStreamSchema,
  type ListedRoom,
  type PublicStream,
} from '../../../shared/index';

export const LIVE_ROOMS_REFRESH_MS = 5000;
/** The home page shows at most this many rooms. */
export const LIVE_ROOMS_LIMIT = 50;

const ListedRoomsSchema = z.union([
  z.array(ListedRoomSchema),
  z.object({ rooms: z.array(ListedRoomSchema) }).transform((body) => body.rooms),
]);

/** Accepts either a bare array or `{ rooms: [...] }`; anything else is null. */
export function parseListedRooms(body: unknown): ListedRoom[] | null {
  const parsed = ListedRoomsSchema.safeParse(body);
  return parsed.success ? parsed.data.slice(0, LIVE_ROOMS_LIMIT) : null;
}

/** `GET /api/streams`: rooms whose public HLS mirror is on; anything else is null. */
export function parsePublicStreams(body: unknown): PublicStream[] | null {
  const parsed = z.array(PublicStreamSchema).safeParse(body);
  return parsed.success ? parsed.data.slice(0, LIVE_ROOMS_LIMIT) : null;
}

/** One card under "Live now". */
export interface LiveEntry {
  roomId: string;
  title: string;
  viewerCount: number;
  startedAt: number;
  /** Listed by its broadcaster: the card opens the low-latency watch page. */
  listed: boolean;
  /** Its public HLS mirror is on (`/live/<room>`). */
  hls: boolean;
}

/**
 * Listed rooms first (in the server's order), then mirrors of rooms that are not listed; a room
 * in both lists appears once, marked HLS. A mirror is public by nature, so it is shown too.
 */
export function mergeLiveEntries(
  rooms: readonly ListedRoom[],
  streams: readonly PublicStream[],
): LiveEntry[] {
  const mirrored = new Set(streams.map((s) => s.roomId));
  const entries: LiveEntry[] = rooms.map((room) => ({
    roomId: room.roomId,
    title: room.title,
    viewerCount: room.viewerCount,
    startedAt: room.startedAt,
    listed: true,
    hls: mirrored.has(room.roomId),
  }));
  const seen = new Set(entries.map((e) => e.roomId));
  for (const stream of streams) {
    if (seen.has(stream.roomId)) continue;
    seen.add(stream.roomId);
    entries.push({
      roomId: stream.roomId,
      title: stream.title,
      viewerCount: stream.viewerCount,
      startedAt: stream.startedAt,
      listed: false,
      hls: true,
    });
  }
  return entries.slice(0, LIVE_ROOMS_LIMIT);
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
