import { z } from 'zod';
import { ListedRoomSchema, type ListedRoom } from '../../../shared/index';

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

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** The "Live now" list: GET /api/rooms, refreshed while the home page is open. */
export class LiveRooms {
  rooms = $state.raw<ListedRoom[]>([]);
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
    try {
      const response = await this.#fetch('/api/rooms', { headers: { accept: 'application/json' } });
      const rooms = response.ok ? parseListedRooms(await response.json()) : null;
      this.failed = rooms === null;
      if (rooms) this.rooms = rooms;
    } catch {
      this.failed = true;
    } finally {
      this.loaded = true;
    }
  }
}
