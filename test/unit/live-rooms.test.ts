import { describe, expect, it } from 'vitest';
import type { ListedRoom, PublicStream } from '../../shared/index';
import {
  LiveRooms,
  mergeLiveEntries,
  parsePublicStreams,
} from '../../client/src/state/live-rooms.svelte';

const room = (roomId: string, title = 'Listed'): ListedRoom =>
  ({ roomId, title, viewerCount: 2, startedAt: 1 }) as ListedRoom;
const stream = (roomId: string, title = 'Mirror'): PublicStream =>
  ({
    roomId,
    title,
    viewerCount: 5,
    startedAt: 2,
    pageUrl: `/live/${roomId}`,
    playlistUrl: `/hls/${roomId}/index.m3u8`,
    live: true,
  }) as PublicStream;

describe('Live now with HLS mirrors', () => {
  it('merges listed rooms and mirrors without duplicates, marking mirrors HLS', () => {
    const entries = mergeLiveEntries(
      [room('111111'), room('222222')],
      [stream('222222'), stream('333333')],
    );
    expect(entries.map((e) => [e.roomId, e.listed, e.hls])).toEqual([
      ['111111', true, false],
      ['222222', true, true],
      ['333333', false, true],
    ]);
    expect(entries[1]!.title).toBe('Listed');
  });

  it('rejects a malformed /api/streams body', () => {
    expect(parsePublicStreams([{ roomId: '../etc' }])).toBeNull();
    expect(parsePublicStreams({})).toBeNull();
    expect(parsePublicStreams([stream('123456')])).toHaveLength(1);
    expect(parsePublicStreams({ streams: [stream('123456')] })).toHaveLength(1);
  });

  it('loads both lists; a server without /api/streams still lists its rooms', async () => {
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    let streamsStatus = 200;
    const live = new LiveRooms(async (url) =>
      url === '/api/rooms'
        ? json([room('111111')])
        : json({ streams: [stream('333333')] }, streamsStatus),
    );
    await live.refresh();
    expect(live.entries.map((e) => e.roomId)).toEqual(['111111', '333333']);
    expect(live.failed).toBe(false);
    streamsStatus = 404;
    await live.refresh();
    expect(live.entries.map((e) => e.roomId)).toEqual(['111111']);
    expect(live.failed).toBe(false);
  });
});
