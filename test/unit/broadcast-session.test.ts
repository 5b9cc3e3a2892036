import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CreateRoomResult, QualityPreset, StatsSummary } from '../../shared/index';
import type { BroadcastMeshOptions } from '../../client/src/lib/broadcast-mesh';
import {
  BroadcastSession,
  CHAT_LOG_LIMIT,
  RECLAIM_STORAGE_KEY,
  UPLOAD_HISTORY_LIMIT,
  codecOrderFor,
  relayCodecOrderFor,
  type MediaPort,
} from '../../client/src/state/broadcast-session.svelte';
import type { MeshPort, UpstreamPort } from '../../client/src/state/ports';
import type { RelayUpstreamOptions } from '../../client/src/lib/relay-upstream';
import { FakeSignalling, FakeStream, flush } from './ui-fakes';

class FakeMesh {
  streams: unknown[] = [];
  qualities: Array<[QualityPreset, string | undefined]> = [];
  codecOrders: unknown[] = [];
  added: string[] = [];
  removed: string[] = [];
  signals: unknown[] = [];
  closed = false;
  uploadKbps = 1200;
  constructor(readonly opts: BroadcastMeshOptions) {}
  async setStream(s: MediaStream) {
    this.streams.push(s);
  }
  async setQuality(q: QualityPreset, kind?: 'camera' | 'screen') {
    this.qualities.push([q, kind]);
  }
  setCodecOrder(order: readonly string[]) {
    this.codecOrders.push(order);
  }
  addedIceServers: Array<RTCIceServer[] | undefined> = [];
  addViewer(id: string, iceServers?: RTCIceServer[]) {
    this.added.push(id);
    this.addedIceServers.push(iceServers);
  }
  removeViewer(id: string) {
    this.removed.push(id);
  }
  async handleSignal(msg: unknown) {
    this.signals.push(msg);
  }
  async collectStats() {
    return { totalUploadKbps: this.uploadKbps, peers: [] };
  }
  close() {
    this.closed = true;
  }
}

class FakeUpstream {
  running = false;
  starts: unknown[] = [];
  streams: unknown[] = [];
  qualities: QualityPreset[] = [];
  preferH264: boolean[] = [];
  keyframes = 0;
  stops = 0;
  constructor(readonly opts: RelayUpstreamOptions) {}
  async start(stream: MediaStream) {
    this.running = true;
    this.starts.push(stream);
  }
  async setStream(stream: MediaStream) {
    this.streams.push(stream);
  }
  setQuality(q: QualityPreset) {
    this.qualities.push(q);
  }
  setPreferH264(v: boolean) {
    this.preferH264.push(v);
  }
  requestKeyframe() {
    this.keyframes += 1;
  }
  stop() {
    this.running = false;
    this.stops += 1;
  }
  stats() {
    return { bitrateKbps: 1200, fps: 30, codec: this.running ? 'H264' : null, droppedFrames: 0 };
  }
}

class MemoryStorage {
  map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

function fakeMedia() {
  const captured: FakeStream[] = [];
  const stopped: unknown[] = [];
  const applied: Array<[unknown, QualityPreset]> = [];
  const media: MediaPort = {
    listMediaDevices: async () => ({
      cameras: [{ deviceId: 'cam-1', label: 'Cam', kind: 'videoinput' } as MediaDeviceInfo],
      microphones: [{ deviceId: 'mic-1', label: 'Mic', kind: 'audioinput' } as MediaDeviceInfo],
    }),
    captureCamera: async () => {
      const s = new FakeStream(`camera-${captured.length}`);
      captured.push(s);
      return s as unknown as MediaStream;
    },
    captureScreen: async () => {
      const s = new FakeStream(`screen-${captured.length}`);
      captured.push(s);
      return s as unknown as MediaStream;
    },
    applyQualityToTrack: async (track, quality) => {
      applied.push([track, quality]);
    },
    stopStream: (s) => {
      if (s) stopped.push(s);
    },
    isScreenCaptureSupported: () => true,
  };
  return { media, captured, stopped, applied };
}

const ROOM: CreateRoomResult = {
  roomId: '123456' as CreateRoomResult['roomId'],
  broadcasterToken: 'token-abcdefghijklmnop',
  iceServers: [{ urls: 'stun:example.org' }],
  viewers: [],
  relayViewers: [],
};

describe('BroadcastSession', () => {
  let signalling: FakeSignalling;
  let meshes: FakeMesh[];
  let upstreams: FakeUpstream[];
  let storage: MemoryStorage;
  let m: ReturnType<typeof fakeMedia>;
  let session: BroadcastSession;

  beforeEach(() => {
    vi.useFakeTimers();
    signalling = new FakeSignalling();
    signalling.responders.create_room = () => ({ ok: true, data: ROOM });
    meshes = [];
    upstreams = [];
    storage = new MemoryStorage();
    m = fakeMedia();
    session = makeSession();
  });

  function makeSession(pathOverride?: 'auto' | 'turn' | 'relay') {
    return new BroadcastSession({
      signalling: signalling.asPort(),
      media: m.media,
      storage,
      pathOverride,
      createMesh: (opts) => {
        const mesh = new FakeMesh(opts);
        meshes.push(mesh);
        return mesh as unknown as MeshPort;
      },
      createUpstream: (opts) => {
        const upstream = new FakeUpstream(opts);
        upstreams.push(upstream);
        return upstream as unknown as UpstreamPort;
      },
    });
  }

  afterEach(() => {
    session.destroy();
    vi.useRealTimers();
  });

  async function goLive() {
    await session.init();
    await session.goLive();
    return meshes.at(-1)!;
  }

  it('opens a camera preview and lists devices on init', async () => {
    await session.init();
    expect(session.phase).toBe('setup');
    expect(session.previewStream).toBe(m.captured[0]);
    expect(session.cameras.map((c) => c.deviceId)).toEqual(['cam-1']);
    expect(session.connection).toBe('connected');
    expect(session.cameraId).toBe('video-dev');
  });

  it('goes live: create_room with options, a mesh with the stream, token saved', async () => {
    session.listed = true;
    session.title = '  My show ';
    session.setCodecChoice('H264');
    const mesh = await goLive();
    expect(signalling.requestsOf('create_room')).toEqual([{ listed: true, title: 'My show' }]);
    expect(session.phase).toBe('live');
    expect(session.roomId).toBe('123456');
    expect(mesh.opts.codecOrder).toEqual(['H264', 'AV1', 'VP9', 'VP8']);
    expect(mesh.opts.iceServers).toEqual(ROOM.iceServers);
    expect(mesh.streams).toEqual([session.previewStream]);
    // The settings ride along, so a reclaim can re-create the room after a server restart.
    expect(JSON.parse(storage.getItem(RECLAIM_STORAGE_KEY)!)).toEqual({
      roomId: '123456',
      broadcasterToken: ROOM.broadcasterToken,
      listed: true,
      title: 'My show',
    });
  });

  it('ends the broadcast and says why when an admin closes the room', async () => {
    const mesh = await goLive();
    signalling.emit('room_closed', { roomId: '999999' as never, reason: 'closed_by_admin' });
    expect(session.phase).toBe('live');
    signalling.emit('room_closed', { roomId: '123456' as never, reason: 'closed_by_admin' });
    expect(session.phase).toBe('ended');
    expect(session.error).toEqual({ key: 'broadcast.closedByAdmin' });
    expect(mesh.closed).toBe(true);
    expect(storage.getItem(RECLAIM_STORAGE_KEY)).toBeNull();
  });

  it('sends the room password with create_room and resends it on reclaim', async () => {
    session.password = 'open sesame';
    await goLive();
    expect(signalling.requestsOf('create_room')).toEqual([
      { listed: false, password: 'open sesame' },
    ]);
    expect(JSON.parse(storage.getItem(RECLAIM_STORAGE_KEY)!)).toMatchObject({
      password: 'open sesame',
    });
  });

  it('shows the error and stays in setup when create_room fails', async () => {
    signalling.responders.create_room = () => ({
      ok: false,
      error: { code: 'RATE_LIMITED', message: 'slow down' },
    });
    await session.init();
    await session.goLive();
    expect(session.phase).toBe('setup');
    expect(session.error).toEqual({ key: 'error.RATE_LIMITED' });
    expect(meshes).toHaveLength(0);
  });

  it('routes viewer events, signals, stats summaries and chat', async () => {
    const mesh = await goLive();
    signalling.emit('viewer_joined', { viewerId: 'v1' });
    signalling.emit('viewer_left', { viewerId: 'v1' });
    signalling.emit('signal', { from: 'v2', candidate: null });
    expect(mesh.added).toEqual(['v1']);
    expect(mesh.removed).toEqual(['v1']);
    expect(mesh.signals).toEqual([{ from: 'v2', candidate: null }]);

    const summary = {
      roomId: '123456',
      at: 1,
      viewerCount: 3,
      pathCounts: { direct: 3 },
      broadcaster: { online: true, uploadKbps: 10 },
      viewers: [],
    } as unknown as StatsSummary;
    signalling.emit('stats_summary', summary);
    signalling.emit('stats_summary', {
      ...summary,
      roomId: '999999',
      viewerCount: 9,
    } as StatsSummary);
    expect(session.viewerCount).toBe(3);

    for (let i = 0; i < CHAT_LOG_LIMIT + 5; i++) {
      signalling.emit('chat', {
        id: String(i),
        roomId: '123456',
        from: 'v1',
        role: 'viewer',
        name: 'Viewer',
        text: `m${i}`,
        at: i,
      } as never);
    }
    expect(session.chat).toHaveLength(CHAT_LOG_LIMIT);
    expect(session.chat[0]!.text).toBe('m5');
  });

  it('reports stats every second and keeps a bounded upload history', async () => {
    const mesh = await goLive();
    for (let i = 0; i < UPLOAD_HISTORY_LIMIT + 3; i++) {
      mesh.uploadKbps = i;
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(signalling.stats.length).toBe(UPLOAD_HISTORY_LIMIT + 3);
    expect(signalling.stats[0]).toEqual({ role: 'broadcaster', totalUploadKbps: 0, peers: [] });
    expect(session.uploadHistory).toHaveLength(UPLOAD_HISTORY_LIMIT);
    expect(session.uploadKbps).toBe(UPLOAD_HISTORY_LIMIT + 2);
  });

  it('changes quality and source while live without a new mesh', async () => {
    const mesh = await goLive();
    const first = session.previewStream;
    await session.setQuality('480p30');
    expect(m.applied).toEqual([[first!.getVideoTracks()[0], '480p30']]);
    expect(mesh.qualities.at(-1)).toEqual(['480p30', 'camera']);

    await session.setSource('screen');
    expect(session.source).toBe('screen');
    expect(mesh.streams).toEqual([first, session.previewStream]);
    expect(mesh.qualities.at(-1)).toEqual(['480p30', 'screen']);
    expect(m.stopped).toContain(first);
    expect(meshes).toHaveLength(1);
    expect(mesh.closed).toBe(false);
  });

  it('mutes the microphone track without recapturing', async () => {
    await session.init();
    session.toggleMic();
    expect(session.micEnabled).toBe(false);
    expect(session.previewStream!.getAudioTracks()[0]!.enabled).toBe(false);
    expect(m.captured).toHaveLength(1);
  });

  it('reclaims the room with its token after the socket reconnects', async () => {
    signalling.responders.reclaim_room = () => ({
      ok: true,
      data: { ...ROOM, viewers: ['v1', 'v2', 'v3'], relayViewers: ['v3'] },
    });
    const oldMesh = await goLive();
    signalling.setState('reconnecting');
    expect(session.phase).toBe('reconnecting');
    signalling.setState('connected');
    signalling.welcome('client-2');
    await flush(20);
    expect(signalling.requestsOf('reclaim_room')).toEqual([
      { roomId: '123456', broadcasterToken: ROOM.broadcasterToken, listed: false },
    ]);
    expect(oldMesh.closed).toBe(true);
    const newMesh = meshes.at(-1)!;
    expect(newMesh).not.toBe(oldMesh);
    // v3 is served by the relay, so the new mesh offers only to the WebRTC viewers.
    expect(newMesh.added).toEqual(['v1', 'v2']);
    expect(session.phase).toBe('live');
    expect(session.viewerCount).toBe(3);
  });

  it('reclaims after a recovered reconnect that kept its socket id', async () => {
    signalling.responders.reclaim_room = () => ({ ok: true, data: ROOM });
    await goLive();
    signalling.setState('reconnecting');
    signalling.setState('connected');
    // The recovered socket keeps its id, but the server took the seat offline when it dropped.
    signalling.welcome(signalling.clientId!);
    await flush(20);
    expect(signalling.requestsOf('reclaim_room')).toHaveLength(1);
    expect(session.phase).toBe('live');
  });

  it('after server_shutdown with its own socket still up (another node went away) reclaims by itself, retrying while busy', async () => {
    let busy = true;
    signalling.responders.reclaim_room = () =>
      busy
        ? { ok: false, error: { code: 'SERVER_BUSY', message: 'not answering' } }
        : { ok: true, data: ROOM };
    await goLive();
    signalling.emit('room_closed', { roomId: '123456', reason: 'server_shutdown' } as never);
    expect(session.phase).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(signalling.requestsOf('reclaim_room')).toHaveLength(1);
    expect(session.phase).toBe('reconnecting');
    busy = false;
    await vi.advanceTimersByTimeAsync(2000);
    expect(signalling.requestsOf('reclaim_room')).toHaveLength(2);
    expect(session.phase).toBe('live');
  });

  it('ends the broadcast when the reclaim is refused', async () => {
    signalling.responders.reclaim_room = () => ({
      ok: false,
      error: { code: 'ROOM_NOT_FOUND', message: 'gone' },
    });
    await goLive();
    signalling.setState('reconnecting');
    signalling.setState('connected');
    signalling.welcome('client-2');
    await flush(20);
    expect(session.phase).toBe('ended');
    expect(session.error).toEqual({ key: 'error.reclaim' });
    expect(storage.getItem(RECLAIM_STORAGE_KEY)).toBeNull();
  });

  it('resumes a broadcast saved by this tab before a reload', async () => {
    storage.setItem(
      RECLAIM_STORAGE_KEY,
      JSON.stringify({ roomId: '123456', broadcasterToken: ROOM.broadcasterToken }),
    );
    signalling.responders.reclaim_room = () => ({ ok: true, data: ROOM });
    await session.init();
    expect(signalling.requestsOf('reclaim_room')).toHaveLength(1);
    expect(session.phase).toBe('live');
  });

  it('stops: leave_room, mesh closed, token forgotten', async () => {
    const mesh = await goLive();
    await session.stop();
    expect(signalling.requestsOf('leave_room')).toHaveLength(1);
    expect(mesh.closed).toBe(true);
    expect(session.phase).toBe('ended');
    expect(storage.getItem(RECLAIM_STORAGE_KEY)).toBeNull();
    const sent = signalling.stats.length;
    await vi.advanceTimersByTimeAsync(3000);
    expect(signalling.stats.length).toBe(sent);
  });

  it('destroy releases the camera and every listener', async () => {
    await goLive();
    const stream = session.previewStream;
    session.destroy();
    expect(m.stopped).toContain(stream);
    expect(signalling.listenerCount()).toBe(0);
    expect(signalling.requestsOf('leave_room')).toHaveLength(1);
  });
  describe('connection ladder (broadcaster side)', () => {
    it('runs the relay upstream only while the server asks for it', async () => {
      const mesh = await goLive();
      expect(mesh.opts.iceTransportPolicy).toBe('all');
      expect(upstreams).toHaveLength(0);
      await session.handleRelayDemand({ active: true, relayViewers: 1, preferH264: true });
      const up = upstreams[0]!;
      expect(up.opts.preferH264).toBe(true);
      // "auto" puts the cheapest realtime encoder first for the relay's extra encode.
      expect(up.opts.codecOrder).toEqual(['H264', 'VP8', 'VP9', 'AV1']);
      expect(up.opts.quality).toBe(session.quality);
      expect(up.starts).toEqual([session.previewStream]);
      expect(session.relayUpstream).toEqual({
        running: true,
        codec: 'H264',
        bitrateKbps: 1200,
        error: null,
      });

      // Chunks go out over signalling; keyframe requests reach the encoder.
      up.opts.send(new Uint8Array([9]));
      expect(signalling.relayChunks).toEqual([new Uint8Array([9])]);
      signalling.emit('keyframe_requested', {});
      expect(up.keyframes).toBe(1);

      // Source and quality changes follow the capture.
      await session.setSource('screen');
      expect(up.streams).toEqual([session.previewStream]);
      await session.setQuality('480p30');
      expect(up.qualities).toEqual(['480p30']);

      // A second demand while running only updates the preference.
      signalling.emit('relay_demand', { active: true, relayViewers: 2, preferH264: false });
      await flush();
      expect(upstreams).toHaveLength(1);
      expect(up.preferH264).toEqual([false]);

      signalling.emit('relay_demand', { active: false, relayViewers: 0, preferH264: false });
      await flush();
      expect(up.stops).toBe(1);
      expect(session.relayUpstream).toBeNull();
    });

    it('applies a demand that arrived before the room was live', async () => {
      await session.init();
      signalling.emit('relay_demand', { active: true, relayViewers: 1, preferH264: false });
      await flush();
      expect(upstreams).toHaveLength(0);
      await session.goLive();
      await flush();
      expect(upstreams[0]!.starts).toEqual([session.previewStream]);
    });

    it('stops the upstream when the broadcast stops', async () => {
      await goLive();
      await session.handleRelayDemand({ active: true, relayViewers: 1, preferH264: false });
      await session.stop();
      expect(upstreams[0]!.stops).toBe(1);
    });

    it('makes no peer connection for relay viewers and rebuilds one on offer_requested', async () => {
      const mesh = await goLive();
      signalling.emit('viewer_joined', { viewerId: 'r1', mode: 'relay' });
      signalling.emit('viewer_joined', { viewerId: 'w1', mode: 'webrtc' });
      expect(mesh.added).toEqual(['w1']);
      signalling.emit('offer_requested', { viewerId: 'r1' });
      expect(mesh.removed).toEqual(['r1']);
      expect(mesh.added).toEqual(['w1', 'r1']);
    });

    it('keeps the path counts of the latest summary', async () => {
      await goLive();
      signalling.emit('stats_summary', {
        roomId: '123456',
        at: 1,
        viewerCount: 3,
        pathCounts: { direct: 1, turn: 0, relay: 2, hls: 0 },
        broadcaster: { online: true, uploadKbps: 10 },
        viewers: [],
      } as unknown as StatsSummary);
      expect(session.pathCounts).toEqual({ direct: 1, turn: 0, relay: 2, hls: 0 });
    });

    it('?path=turn (hide my IP) forces TURN on every viewer connection', async () => {
      session.destroy();
      session = makeSession('turn');
      const mesh = await goLive();
      expect(mesh.opts.iceTransportPolicy).toBe('relay');
      // Locked while live.
      session.setPathOverride('auto');
      expect(session.pathOverride).toBe('turn');
    });

    it('?path=relay makes no peer connections at all', async () => {
      session.destroy();
      session = makeSession('relay');
      const mesh = await goLive();
      signalling.emit('viewer_joined', { viewerId: 'w1', mode: 'webrtc' });
      signalling.emit('offer_requested', { viewerId: 'w1' });
      expect(mesh.added).toEqual([]);
    });

    it('gives each new or retrying viewer the fresh ICE servers the server sent', async () => {
      const mesh = await goLive();
      const fresh = [{ urls: ['turn:t:3478'], username: '9999999999:b', credential: 'c' }];
      signalling.emit('viewer_joined', { viewerId: 'w1', mode: 'webrtc', iceServers: fresh });
      const fresher = [{ urls: ['turn:t:3478'], username: '9999999999:b', credential: 'd' }];
      signalling.emit('offer_requested', { viewerId: 'w1', iceServers: fresher });
      signalling.emit('viewer_joined', { viewerId: 'w2', mode: 'webrtc' }); // an older server
      expect(mesh.added).toEqual(['w1', 'w1', 'w2']);
      expect(mesh.removed).toEqual(['w1']);
      expect(mesh.addedIceServers).toEqual([fresh, fresher, undefined]);
    });

    it('?path=relay tells the server (create_room relayOnly); other paths do not', async () => {
      session.destroy();
      session = makeSession('relay');
      await goLive();
      expect(signalling.requestsOf('create_room')).toEqual([{ listed: false, relayOnly: true }]);
      session.destroy();
      signalling.requests = [];
      session = makeSession('turn');
      await goLive();
      expect(signalling.requestsOf('create_room')).toEqual([{ listed: false }]);
    });
  });
});

describe('codecOrderFor', () => {
  it('keeps the default order for auto and moves a chosen codec first', () => {
    expect(codecOrderFor('auto')).toEqual(['AV1', 'VP9', 'H264', 'VP8']);
    expect(codecOrderFor('VP8')).toEqual(['VP8', 'AV1', 'VP9', 'H264']);
  });

  it('starts the relay with H.264 on auto and honours an explicit choice', () => {
    expect(relayCodecOrderFor('auto')).toEqual(['H264', 'VP8', 'VP9', 'AV1']);
    expect(relayCodecOrderFor('AV1')).toEqual(['AV1', 'VP9', 'H264', 'VP8']);
  });
});
