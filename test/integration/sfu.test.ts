import { afterEach, describe, expect, it } from 'vitest';
import type { SfuAnswer } from '../../shared/index';
import { parseRtcp, parseRtpHeader } from '../../server/sfu/rtp';
import {
  closeAllClients,
  connectClient,
  emitAck,
  startServer,
  waitFor,
  type TestServer,
  type TestSocket,
} from './helpers';
import { FIREFOX_RECVONLY_OFFER } from '../support/firefox-offer';
import { PublisherClient, SubscriberClient, rtpPacket } from '../support/webrtc-client';

/**
 * The SFU with real WebRTC on both sides (node-datachannel clients: real ICE, DTLS, SRTP) and
 * the real server: forwarding without decoding, feedback handling, and its Socket.IO errors.
 */

const servers: TestServer[] = [];
const peers: Array<{ close(): void }> = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  closeAllClients();
  for (const server of servers.splice(0)) await server.close();
});

async function server(env: Record<string, string> = {}): Promise<TestServer> {
  const t = await startServer(env);
  servers.push(t);
  return t;
}

async function room(t: TestServer) {
  const broadcaster = await connectClient(t.url);
  const created = await emitAck<{ roomId: string }>(broadcaster, 'create_room', {});
  if (!created.ok) throw new Error('create_room failed');
  return { broadcaster, roomId: created.data.roomId };
}

async function viewer(t: TestServer, roomId: string): Promise<TestSocket> {
  const socket = await connectClient(t.url);
  const joined = await emitAck(socket, 'join_room', { roomId });
  expect(joined.ok).toBe(true);
  return socket;
}

/** The broadcaster publishes when the server asks (sfu_demand), as the page does. */
function publishOnDemand(broadcaster: TestSocket): Promise<PublisherClient> {
  return new Promise((resolve, reject) => {
    broadcaster.once('sfu_demand', async (demand) => {
      try {
        expect(demand.active).toBe(true);
        const pub = new PublisherClient();
        peers.push(pub);
        const ack = await emitAck<SfuAnswer>(
          broadcaster,
          'sfu_publish',
          { sdp: await pub.offer() },
          8000,
        );
        if (!ack.ok) throw new Error(`sfu_publish: ${ack.error.code}`);
        expect(ack.data.codec).toBe('H264');
        await pub.accept(ack.data.sdp);
        resolve(pub);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

async function subscribe(
  socket: TestSocket,
  opts: ConstructorParameters<typeof SubscriberClient>[0] = {},
) {
  const sub = new SubscriberClient(opts);
  peers.push(sub);
  const ack = await emitAck<SfuAnswer>(
    socket,
    'sfu_subscribe',
    { sdp: await sub.offer(), reason: 'forced' },
    15_000,
  );
  return { sub, ack };
}

/** Sends frames until `sub` receives media (the server's keyframe request is answered). */
async function untilFlowing(pub: PublisherClient, ...subs: SubscriberClient[]): Promise<void> {
  const ticker = setInterval(() => pub.sendFrame(false, 3), 30);
  try {
    await until(() => subs.every((s) => s.received.length >= 3), 8000, 'media to flow');
  } finally {
    clearInterval(ticker);
  }
}

const until = async (check: () => boolean, ms = 5000, what = 'condition') => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('SFU forwarding', () => {
  it("forwards the broadcaster's upstream to each subscriber untouched, with its own SSRC and payload type", async () => {
    const t = await server();
    const { broadcaster, roomId } = await room(t);
    const published = publishOnDemand(broadcaster);
    const [v1, v2] = [await viewer(t, roomId), await viewer(t, roomId)];
    const first = subscribe(v1);
    const pub = await published;
    const a = await first;
    const b = await subscribe(v2, { videoCodecs: ['VP8', 'H264'] });
    expect(a.ack.ok && b.ack.ok).toBe(true);
    if (!a.ack.ok || !b.ack.ok) return;
    expect(a.ack.data.sdp).toMatch(/a=sendonly/);
    await Promise.all([a.sub.accept(a.ack.data.sdp), b.sub.accept(b.ack.data.sdp)]);
    // Frames at 50 fps; the server's keyframe request (when each subscriber is up) is answered.
    const ticker = setInterval(() => pub.sendFrame(false, 3), 20);
    try {
      await until(() => a.sub.received.length >= 60 && b.sub.received.length >= 60, 8000, 'media');
    } finally {
      clearInterval(ticker);
    }
    const [ha, hb] = [parseRtpHeader(a.sub.received[0]!)!, parseRtpHeader(b.sub.received[0]!)!];
    expect(ha.payloadType).toBe(96);
    // b offered VP8 first: the room's H.264 goes under b's H.264 payload type.
    expect(hb.payloadType).toBe(97);
    expect(ha.ssrc).not.toBe(hb.ssrc);
    expect(ha.ssrc).not.toBe(pub.videoSsrc);
    // Each starts at a keyframe; payloads byte for byte in the same order; sequences contiguous.
    expect(a.sub.received[0]![12]).toBe(0x67);
    expect(b.sub.received[0]![12]).toBe(0x67);
    const payloads = (list: Buffer[]) => list.map((p) => p.subarray(12).toString('hex'));
    const [pa, pb] = [payloads(a.sub.received), payloads(b.sub.received)];
    const offset = pa.indexOf(pb[0]!);
    expect(offset).toBeGreaterThanOrEqual(0);
    const common = Math.min(pa.length - offset, pb.length) - 3;
    expect(pb.slice(0, common)).toEqual(pa.slice(offset, offset + common));
    const seqs = a.sub.received.map((p) => parseRtpHeader(p)!.sequence);
    expect(seqs.every((s, i) => i === 0 || s === ((seqs[i - 1]! + 1) & 0xffff))).toBe(true);
    // The server asked the publisher for bitrate (REMB) and a keyframe on subscribe, and reports.
    await until(() => pub.feedbackCount(206, 15) > 0 && pub.feedbackCount(201) > 0, 3000);
  });

  it('a subscriber can never send media into the room', async () => {
    const t = await server();
    const { broadcaster, roomId } = await room(t);
    const published = publishOnDemand(broadcaster);
    const [v1, v2] = [await viewer(t, roomId), await viewer(t, roomId)];
    const intruder = subscribe(v1, { sendMedia: true });
    const pub = await published;
    const bad = await intruder;
    const good = await subscribe(v2);
    if (!bad.ack.ok || !good.ack.ok) throw new Error('subscribe failed');
    // The server takes nothing from it: its section is answered sendonly.
    expect(bad.ack.data.sdp).toMatch(/a=sendonly/);
    expect(bad.ack.data.sdp).not.toMatch(/a=sendrecv/);
    await Promise.all([bad.sub.accept(bad.ack.data.sdp), good.sub.accept(good.ack.data.sdp)]);
    await untilFlowing(pub, good.sub);
    await new Promise((r) => setTimeout(r, 300));
    const before = good.sub.received.length;
    for (let i = 0; i < 30; i++) {
      bad.sub.send(
        rtpPacket({
          payloadType: 96,
          sequence: i,
          timestamp: i,
          ssrc: 0x2222_0001,
          marker: true,
          payload: Buffer.from([0x67, 0xee, 0xee]),
        }),
      );
    }
    pub.sendFrame(false, 2);
    await until(() => good.sub.received.length >= before + 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(good.sub.received.some((p) => p.subarray(12).includes(Buffer.from([0xee, 0xee])))).toBe(
      false,
    );
    expect(good.sub.received).toHaveLength(before + 2);
  });

  it('a lossy, slow subscriber never slows the others: PLIs rate-limited, NACKs answered locally, REMB kept', async () => {
    const t = await server();
    const { broadcaster, roomId } = await room(t);
    const published = publishOnDemand(broadcaster);
    const [v1, v2] = [await viewer(t, roomId), await viewer(t, roomId)];
    const slowSub = subscribe(v1);
    const pub = await published;
    const slow = await slowSub;
    const fast = await subscribe(v2);
    if (!slow.ack.ok || !fast.ack.ok) throw new Error('subscribe failed');
    await Promise.all([slow.sub.accept(slow.ack.data.sdp), fast.sub.accept(fast.ack.data.sdp)]);
    await untilFlowing(pub, slow.sub, fast.sub);
    // Let the start-up keyframe requests settle before counting.
    await new Promise((r) => setTimeout(r, 1100));
    const slowSsrc = parseRtpHeader(slow.sub.received[0]!)!.ssrc;
    const lostSeq = parseRtpHeader(slow.sub.received[1]!)!.sequence;
    const plisBefore = pub.feedbackCount(206, 1);
    const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0]);
    pli.writeUInt32BE(slowSsrc, 8);
    const remb = Buffer.from([
      0x8f, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0x52, 0x45, 0x4d, 0x42, 1, 0, 0x10, 0, 0, 0, 0, 0,
    ]);
    remb.writeUInt32BE(slowSsrc, 20);
    const nack = Buffer.from([0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    nack.writeUInt32BE(slowSsrc, 8);
    nack.writeUInt16BE(lostSeq, 12);
    for (let i = 0; i < 30; i++) {
      slow.sub.send(pli);
      slow.sub.send(remb);
      await new Promise((r) => setTimeout(r, 10));
    }
    slow.sub.send(nack);
    const fastBefore = fast.sub.received.length;
    for (let i = 0; i < 10; i++) pub.sendFrame(false, 3);
    await until(() => fast.sub.received.length >= fastBefore + 30, 5000, 'the fast subscriber');
    // Answered from the server's cache (the client's SRTP drops it as a replay here, since it
    // did arrive the first time; a browser missing it would take it).
    const router = t.server.sfu.existingRouter(roomId as never)!;
    await until(
      () => router.stats().find((s) => s.retransmits > 0) !== undefined,
      5000,
      'the retransmission',
    );
    await new Promise((r) => setTimeout(r, 1200));
    // 30 PLIs in ~0.5 s reach the publisher as at most two (one per second).
    expect(pub.feedbackCount(206, 1) - plisBefore).toBeLessThanOrEqual(2);
    expect(pub.feedbackCount(206, 1) - plisBefore).toBeGreaterThanOrEqual(1);
    // The publisher only ever hears the server's own REMB, never the subscriber's 4 kbit/s.
    const rembs = pub.rtcp.flatMap((p) => parseRtcp(p)).filter((f) => f.type === 'remb');
    expect(rembs.length).toBeGreaterThan(0);
    for (const r of rembs) expect((r as { bitrate: number }).bitrate).toBeGreaterThan(1_000_000);
    // NACKs never reach the publisher either: the retransmission came from the server's cache.
    expect(pub.feedbackCount(205)).toBe(0);
    // The other subscriber got every packet, none twice.
    expect(fast.sub.received.length).toBeGreaterThanOrEqual(fastBefore + 30);
    const seqs = fast.sub.received.map((p) => parseRtpHeader(p)!.sequence);
    expect(new Set(seqs).size).toBe(seqs.length);
  });
});

describe('SFU events: typed errors, the server keeps serving', () => {
  it('refuses bad SDP, wrong roles, strangers and codecs a browser cannot take', async () => {
    const t = await server();
    const { broadcaster, roomId } = await room(t);
    const v = await viewer(t, roomId);
    const stranger = await connectClient(t.url);
    const sub = new SubscriberClient();
    peers.push(sub);
    const sdp = await sub.offer();
    const code = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error!.code);
    expect(code(await emitAck(stranger, 'sfu_subscribe', { sdp, reason: 'forced' }))).toBe(
      'NOT_IN_ROOM',
    );
    expect(code(await emitAck(broadcaster, 'sfu_subscribe', { sdp, reason: 'forced' }))).toBe(
      'UNAUTHORIZED',
    );
    expect(code(await emitAck(v, 'sfu_publish', { sdp }))).toBe('NOT_BROADCASTER');
    expect(
      code(await emitAck(v, 'sfu_subscribe', { sdp: 'v=0\r\nnonsense', reason: 'forced' })),
    ).toBe('INVALID_PAYLOAD');
    expect(
      code(await emitAck(v, 'sfu_subscribe', { sdp: 'x'.repeat(70_000), reason: 'forced' })),
    ).toBe('INVALID_PAYLOAD');
    expect(code(await emitAck(v, 'sfu_subscribe', { sdp, reason: 'nope' }))).toBe(
      'INVALID_PAYLOAD',
    );
    expect(code(await emitAck(broadcaster, 'sfu_publish', { sdp: 'v=0\r\n' }))).toBe(
      'INVALID_PAYLOAD',
    );
    // A recvonly offer is no publisher offer.
    expect(code(await emitAck(broadcaster, 'sfu_publish', { sdp }))).toBe('INVALID_PAYLOAD');

    // A browser without H.264 (Firefox here) cannot take this H.264 room.
    const published = publishOnDemand(broadcaster);
    const noH264 = new SubscriberClient({ videoCodecs: ['VP8'] });
    peers.push(noH264);
    const refused = emitAck(
      v,
      'sfu_subscribe',
      { sdp: await noH264.offer(), reason: 'forced' },
      15_000,
    );
    await published;
    const ack = await refused;
    expect(code(ack)).toBe('CODEC_UNSUPPORTED');
    expect(ack.ok ? '' : ack.error.message).toMatch(/H264/);
    const health = await (await fetch(`${t.url}/healthz`)).json();
    expect(health.features.sfu).toMatchObject({ enabled: true, reason: null, viewers: 0 });
  });

  it("answers Firefox's real offer: refused for an H.264 room, taken for a VP8 one", async () => {
    const t = await server();
    const h264 = await room(t);
    const published = publishOnDemand(h264.broadcaster);
    const v1 = await viewer(t, h264.roomId);
    const refused = emitAck(
      v1,
      'sfu_subscribe',
      { sdp: FIREFOX_RECVONLY_OFFER, reason: 'forced' },
      15_000,
    );
    await published;
    const answer = await refused;
    expect(answer.ok ? 'ok' : answer.error.code).toBe('CODEC_UNSUPPORTED');

    // A VP8 publisher (a Firefox broadcaster's upstream): Firefox can take it.
    const vp8 = await room(t);
    vp8.broadcaster.once('sfu_demand', async () => {
      const pub = new PublisherClient({ codec: 'VP8' });
      peers.push(pub);
      const ack = await emitAck<SfuAnswer>(vp8.broadcaster, 'sfu_publish', {
        sdp: await pub.offer(),
      });
      expect(ack.ok && ack.data.codec).toBe('VP8');
    });
    const v2 = await viewer(t, vp8.roomId);
    const taken = await emitAck<SfuAnswer>(
      v2,
      'sfu_subscribe',
      { sdp: FIREFOX_RECVONLY_OFFER, reason: 'forced' },
      15_000,
    );
    expect(taken.ok).toBe(true);
    if (!taken.ok) return;
    expect(taken.data.codec).toBe('VP8');
    expect(taken.data.sdp).toMatch(/a=rtpmap:120 VP8\/90000/);
    expect(taken.data.sdp).toMatch(/a=fmtp:120 max-fs=12288;max-fr=60/);
  });

  it('MAX_SFU_VIEWERS bounds the process; overflow goes to the SFU, then to the relay', async () => {
    const t = await server({ MAX_SFU_VIEWERS: '1', MAX_MESH_VIEWERS: '0' });
    const { broadcaster, roomId } = await room(t);
    const published = publishOnDemand(broadcaster);
    const v1 = await connectClient(t.url);
    const joinedEvent = waitFor(broadcaster, 'viewer_joined');
    const joined = await emitAck<{ mode: string; modeReason: string }>(v1, 'join_room', { roomId });
    expect(joined.ok && joined.data).toMatchObject({ mode: 'sfu', modeReason: 'overflow' });
    expect(await joinedEvent).toMatchObject({ mode: 'sfu' });
    const first = await subscribe(v1);
    await published;
    expect((await first).ack.ok).toBe(true);
    const v2 = await connectClient(t.url);
    const second = await emitAck<{ mode: string }>(v2, 'join_room', { roomId });
    expect(second.ok && second.data.mode).toBe('relay');
    const busy = await subscribe(v2);
    expect(busy.ack.ok ? 'ok' : busy.ack.error.code).toBe('SERVER_BUSY');
  });

  it('with MAX_SFU_VIEWERS=0 the SFU is off and says why', async () => {
    const t = await server({ MAX_SFU_VIEWERS: '0' });
    const health = await (await fetch(`${t.url}/healthz`)).json();
    expect(health.features.sfu).toMatchObject({ enabled: false, reason: 'MAX_SFU_VIEWERS is 0' });
    const { roomId } = await room(t);
    const v = await viewer(t, roomId);
    const { ack } = await subscribe(v);
    expect(ack.ok ? 'ok' : ack.error.code).toBe('SERVER_BUSY');
    expect(ack.ok ? '' : ack.error.message).toMatch(/MAX_SFU_VIEWERS is 0/);
  });
});
