import type { ListedRoom, PublicStream } from '../../../shared/index';

/** The home page shows at most this many rooms. */
export const LIVE_ROOMS_LIMIT = 50;

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
