import { afterEach, beforeEach, describe, expect, it, vi, type Mock } from 'vitest';
import { encodeRelayFrame, type RelayDecoderConfig } from '../../shared/index';
import { ClockRebaser } from '../../client/src/lib/relay/clock-rebaser';
import {
  InFlightFrames,
  RateLimiter,
  RateMeter,
  TrackGate,
  lossPercent,
} from '../../client/src/lib/relay/sequencing';
import { RelayPlayer } from '../../client/src/lib/relay-player';

describe('TrackGate (video)', () => {
  it('drops deltas until the first keyframe and asks for one', () => {
    const gate = new TrackGate(true);
    expect(gate.accept({ seq: 5, keyframe: false })).toEqual({
      decode: false,
      lost: 0,
      needKeyframe: true,
    });
    expect(gate.accept({ seq: 6, keyframe: true }).decode).toBe(true);
    expect(gate.accept({ seq: 7, keyframe: false }).decode).toBe(true);
  });

  it('after a sequence gap drops deltas until the next keyframe and counts the loss', () => {
    const gate = new TrackGate(true);
    gate.accept({ seq: 0, keyframe: true });
    gate.accept({ seq: 1, keyframe: false });
    expect(gate.accept({ seq: 4, keyframe: false })).toEqual({
      decode: false,
      lost: 2,
      needKeyframe: true,
    });
    // Contiguous deltas after the gap are still undecodable, but not lost again.
    expect(gate.accept({ seq: 5, keyframe: false })).toEqual({
      decode: false,
      lost: 0,
      needKeyframe: true,
    });
    expect(gate.accept({ seq: 6, keyframe: true }).decode).toBe(true);
    expect(gate.accept({ seq: 7, keyframe: false }).decode).toBe(true);
    expect(gate.lost).toBe(2);
    expect(gate.received).toBe(6);
    expect(gate.waitingForKeyframe).toBe(false);
  });

  it('handles wrap-around, duplicates, and a restarted sender', () => {
    const gate = new TrackGate(true);
    gate.accept({ seq: 0xffffffff, keyframe: true });
    expect(gate.accept({ seq: 0, keyframe: false })).toEqual({
      decode: true,
      lost: 0,
      needKeyframe: false,
    });
    // A duplicate/old delta is ignored without counting loss.
    expect(gate.accept({ seq: 0, keyframe: false })).toEqual({
      decode: false,
      lost: 0,
      needKeyframe: false,
    });
    gate.accept({ seq: 500, keyframe: true });
    // The broadcaster restarted its upstream: seq went back to 0 with a keyframe → resync.
    expect(gate.accept({ seq: 0, keyframe: true }).decode).toBe(true);
    expect(gate.accept({ seq: 1, keyframe: false }).decode).toBe(true);
  });

  it('reset() makes it wait for a keyframe (decoder error)', () => {
    const gate = new TrackGate(true);
    gate.accept({ seq: 0, keyframe: true });
    gate.reset();
    expect(gate.accept({ seq: 1, keyframe: false }).needKeyframe).toBe(true);
    expect(gate.accept({ seq: 2, keyframe: true }).decode).toBe(true);
  });
});

describe('TrackGate (audio)', () => {
  it('decodes across gaps (Opus needs no keyframe) and counts the loss', () => {
    const gate = new TrackGate(false);
    expect(gate.accept({ seq: 10, keyframe: true }).decode).toBe(true);
    expect(gate.accept({ seq: 13, keyframe: true })).toEqual({
      decode: true,
      lost: 2,
      needKeyframe: false,
    });
    expect(lossPercent(gate.lost, gate.received)).toBe(50);
  });
});

describe('RateLimiter, RateMeter, lossPercent', () => {
  it('allows one action per interval', () => {
    const limiter = new RateLimiter(1000);
    expect(limiter.tryAcquire(0)).toBe(true);
    expect(limiter.tryAcquire(999)).toBe(false);
    expect(limiter.tryAcquire(1000)).toBe(true);
  });

  it('sums over the last window only, with a bounded history', () => {
    const meter = new RateMeter(1000, 4);
    meter.add(0, 100);
    meter.add(500, 100);
    expect(meter.perSecond(900)).toBe(200);
    expect(meter.perSecond(1200)).toBe(100);
    for (let i = 0; i < 10; i++) meter.add(1300, 1);
    expect(meter.perSecond(1300)).toBe(4);
  });

  it('is null before anything arrived', () => {
    expect(lossPercent(0, 0)).toBeNull();
    expect(lossPercent(1, 99)).toBe(1);
  });
});

describe('ClockRebaser', () => {
  it('maps a source clock onto performance.now using the smallest observed delay', () => {
    const clock = new ClockRebaser(5000);
    // Source clock = now − 4.5 s; the first read was 30 ms late, later ones 1 ms.
    expect(clock.map(0, 4530)).toBe(4_530_000);
    // The fastest read (1 ms) defines "now": later frames are mapped 1 ms after capture.
    expect(clock.map(33_000, 4534)).toBe(4_534_000);
    expect(clock.map(66_000, 4567)).toBe(4_567_000);
    expect(clock.offsetUs).toBe(4_501_000);
  });

  it('re-takes the minimum each window so a drifting clock is followed', () => {
    const clock = new ClockRebaser(1000);
    clock.map(0, 0); // offset 0
    // The source clock now runs 50 ms behind: the window minimum catches up after a window.
    clock.map(1_000_000, 1050);
    expect(clock.offsetUs).toBe(0);
    clock.map(2_000_000, 2050);
    expect(clock.offsetUs).toBe(50_000);
  });
});

// ---- RelayPlayer against fake WebCodecs / insertable streams ----------------------------

interface FakeFrame {
  timestamp: number;
  displayWidth: number;
  displayHeight: number;
  closed: boolean;
  close(): void;
}

class FakeVideoDecoder {
  static instances: FakeVideoDecoder[] = [];
  state: 'unconfigured' | 'configured' | 'closed' = 'unconfigured';
  decodeQueueSize = 0;
  configs: VideoDecoderConfig[] = [];
  chunks: { type: string; timestamp: number }[] = [];
  constructor(private init: { output: (f: FakeFrame) => void; error: (e: Error) => void }) {
    FakeVideoDecoder.instances.push(this);
  }
  configure(config: VideoDecoderConfig) {
    this.configs.push(config);
    this.state = 'configured';
  }
  decode(chunk: { type: string; timestamp: number }) {
    this.chunks.push(chunk);
    const frame: FakeFrame = {
      timestamp: chunk.timestamp,
      displayWidth: this.configs.at(-1)?.codedWidth ?? 0,
      displayHeight: this.configs.at(-1)?.codedHeight ?? 0,
      closed: false,
      close() {
        this.closed = true;
      },
    };
    this.init.output(frame);
  }
  reset() {
    this.state = 'unconfigured';
  }
  close() {
    this.state = 'closed';
  }
}

class FakeAudioDecoder {
  static instances: FakeAudioDecoder[] = [];
  state: 'unconfigured' | 'configured' | 'closed' = 'unconfigured';
  decodeQueueSize = 0;
  configs: AudioDecoderConfig[] = [];
  chunks: unknown[] = [];
  constructor(_init: unknown) {
    FakeAudioDecoder.instances.push(this);
  }
  configure(config: AudioDecoderConfig) {
    this.configs.push(config);
    this.state = 'configured';
  }
  decode(chunk: unknown) {
    this.chunks.push(chunk);
  }
  close() {
    this.state = 'closed';
  }
}

class FakeChunk {
  type: string;
  timestamp: number;
  constructor(init: { type: string; timestamp: number }) {
    this.type = init.type;
    this.timestamp = init.timestamp;
  }
}

class FakeGenerator {
  static instances: FakeGenerator[] = [];
  written: FakeFrame[] = [];
  stopped = false;
  readonly writable: WritableStream<FakeFrame>;
  constructor(readonly init: { kind: string }) {
    FakeGenerator.instances.push(this);
    this.writable = new WritableStream({ write: (f) => void this.written.push(f) });
  }
  get kind() {
    return this.init.kind;
  }
  stop() {
    this.stopped = true;
  }
}

class FakeMediaStream {
  constructor(readonly tracks: FakeGenerator[]) {}
  getTracks() {
    return this.tracks;
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === 'video');
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
}

const H264: RelayDecoderConfig = {
  codec: 'avc1.42e01f',
  codedWidth: 1280,
  codedHeight: 720,
  description: btoa('\x01\x42\xe0\x1f'),
};

function video(seq: number, keyframe: boolean, config?: RelayDecoderConfig): Uint8Array {
  return encodeRelayFrame({
    track: 'video',
    keyframe,
    seq,
    timestampUs: 1_000_000 + seq * 33_333,
    durationUs: 33_333,
    ...(config ? { config } : {}),
    data: new Uint8Array([seq & 0xff, 1, 2, 3]),
  });
}

function audio(seq: number, config?: RelayDecoderConfig): Uint8Array {
  return encodeRelayFrame({
    track: 'audio',
    keyframe: true,
    seq,
    timestampUs: 1_000_000 + seq * 20_000,
    durationUs: 20_000,
    ...(config ? { config } : {}),
    data: new Uint8Array([0xfc, seq & 0xff]),
  });
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('RelayPlayer sequencing', () => {
  let now = 0;
  let onStream: Mock<(stream: MediaStream) => void>;
  let requestKeyframe: Mock<() => void>;
  let onFirstFrame: Mock<() => void>;
  let player: RelayPlayer;

  beforeEach(() => {
    FakeVideoDecoder.instances = [];
    FakeAudioDecoder.instances = [];
    FakeGenerator.instances = [];
    vi.stubGlobal('VideoDecoder', FakeVideoDecoder);
    vi.stubGlobal('AudioDecoder', FakeAudioDecoder);
    vi.stubGlobal('EncodedVideoChunk', FakeChunk);
    vi.stubGlobal('EncodedAudioChunk', FakeChunk);
    vi.stubGlobal('MediaStreamTrackGenerator', FakeGenerator);
    vi.stubGlobal('MediaStream', FakeMediaStream);
    now = 10_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    onStream = vi.fn();
    requestKeyframe = vi.fn();
    onFirstFrame = vi.fn();
    player = new RelayPlayer({ onStream, requestKeyframe, onFirstFrame });
  });

  afterEach(() => {
    player.close();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  const decoder = () => FakeVideoDecoder.instances[0]!;
  const videoOut = () => FakeGenerator.instances.find((g) => g.kind === 'video')!;

  it('drops deltas before the first keyframe and rate-limits keyframe requests to 1/s', () => {
    player.handleChunk(video(1, false));
    player.handleChunk(video(2, false));
    expect(requestKeyframe).toHaveBeenCalledTimes(1);
    now += 1000;
    player.handleChunk(video(3, false).slice().buffer);
    expect(requestKeyframe).toHaveBeenCalledTimes(2);
    expect(FakeVideoDecoder.instances).toHaveLength(0);
    expect(player.framesDecoded).toBe(0);
  });

  it('starts at a keyframe: configures from its config and outputs one stream', async () => {
    player.handleChunk(video(1, false));
    player.handleChunk(video(2, true, H264));
    player.handleChunk(video(3, false));
    expect(decoder().configs).toHaveLength(1);
    const config = decoder().configs[0]!;
    expect(config.codec).toBe('avc1.42e01f');
    expect(config.optimizeForLatency).toBe(true);
    expect(Array.from(config.description as Uint8Array)).toEqual([0x01, 0x42, 0xe0, 0x1f]);
    expect(decoder().chunks.map((c) => c.type)).toEqual(['key', 'delta']);
    expect(player.framesDecoded).toBe(2);
    expect(onFirstFrame).toHaveBeenCalledTimes(1);
    expect(onStream).toHaveBeenCalledTimes(1);
    const stream = onStream.mock.calls[0]![0] as unknown as FakeMediaStream;
    expect(stream.getVideoTracks()).toHaveLength(1);
    expect(stream.getAudioTracks()).toHaveLength(1);
    await flush();
    // No audio: video frames go straight to the generator.
    expect(videoOut().written.map((f) => f.timestamp)).toEqual([
      1_000_000 + 2 * 33_333,
      1_000_000 + 3 * 33_333,
    ]);
  });

  it('after a seq gap drops deltas until the next keyframe and reports the loss', () => {
    player.handleChunk(video(0, true, H264));
    player.handleChunk(video(1, false));
    player.handleChunk(video(3, false)); // 2 lost
    player.handleChunk(video(4, false));
    expect(requestKeyframe).toHaveBeenCalledTimes(1);
    expect(decoder().chunks).toHaveLength(2);
    player.handleChunk(video(5, true, H264));
    player.handleChunk(video(6, false));
    expect(decoder().chunks).toHaveLength(4);
    const stats = player.collectStats();
    expect(stats.lossPct).toBeCloseTo((1 / 7) * 100, 5);
  });

  it('reconfigures only when the keyframe config changes', () => {
    player.handleChunk(video(0, true, H264));
    player.handleChunk(video(1, true, H264));
    expect(decoder().configs).toHaveLength(1);
    player.handleChunk(video(2, true, { codec: 'vp8', codedWidth: 640, codedHeight: 480 }));
    expect(decoder().configs.map((c) => c.codec)).toEqual(['avc1.42e01f', 'vp8']);
    expect(player.collectStats()).toMatchObject({
      path: 'relay',
      codec: 'VP8',
      width: 640,
      height: 480,
      rttMs: null,
      candidateType: null,
      protocol: 'ws',
    });
  });

  it('waits for a keyframe when the decoder was reset', () => {
    player.handleChunk(video(0, true, H264));
    decoder().state = 'unconfigured';
    player.handleChunk(video(1, false));
    expect(requestKeyframe).toHaveBeenCalledTimes(1);
    player.handleChunk(video(2, false));
    expect(decoder().chunks).toHaveLength(1);
    player.handleChunk(video(3, true, H264));
    expect(decoder().chunks).toHaveLength(2);
  });

  it('decodes audio only once it has a config', () => {
    player.handleChunk(audio(0));
    expect(FakeAudioDecoder.instances).toHaveLength(0);
    player.handleChunk(audio(1, { codec: 'opus', sampleRate: 48000, numberOfChannels: 1 }));
    player.handleChunk(audio(2));
    const dec = FakeAudioDecoder.instances[0]!;
    expect(dec.configs[0]).toMatchObject({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
    expect(dec.chunks).toHaveLength(2);
  });

  it('ignores garbage and stops everything on close()', () => {
    player.handleChunk(new Uint8Array([1, 2, 3]));
    expect(onStream).not.toHaveBeenCalled();
    player.handleChunk(video(0, true, H264));
    player.close();
    expect(decoder().state).toBe('closed');
    expect(FakeGenerator.instances.every((g) => g.stopped)).toBe(true);
    player.handleChunk(video(1, false));
    expect(decoder().chunks).toHaveLength(1);
  });
});

describe('InFlightFrames (upstream encoder backlog)', () => {
  it('counts frames without output; an output settles every frame up to it', () => {
    const inFlight = new InFlightFrames(1000);
    inFlight.submitted(1, 0);
    inFlight.submitted(2, 0);
    inFlight.submitted(3, 0);
    expect(inFlight.count(10)).toBe(3);
    inFlight.output(2); // frame 1 was dropped inside the encoder, or came out earlier
    expect(inFlight.count(10)).toBe(1);
  });

  it('forgets stale entries so a silent encoder cannot block forever', () => {
    const inFlight = new InFlightFrames(1000, 4);
    inFlight.submitted(1, 0);
    inFlight.submitted(2, 600);
    expect(inFlight.count(1001)).toBe(1);
    expect(inFlight.count(1601)).toBe(0);
    for (let i = 0; i < 10; i++) inFlight.submitted(10 + i, 2000);
    expect(inFlight.count(2000)).toBe(4);
  });
});
