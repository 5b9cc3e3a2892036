import { describe, expect, it } from 'vitest';
import { decodeRelayFrame, readRelayHeader, RELAY_HEADER_BYTES } from '../../shared/relay-frame';
import { LatencyHistogram } from '../signalling/histogram';
import {
  DEFAULT_FRAME_SPEC,
  FrameSource,
  frameSizes,
  framesDue,
  readStamp,
  VIDEO_CONFIG,
} from './frames';
import type { PublisherWindowResult, ViewerGroupResult } from './ipc';
import { measureWindow } from './measure';
import { RELAY_SECTION, renderRelaySection, type RelayReport, type RelayRun } from './report';

describe('synthetic relay frames', () => {
  it('adds up to the target bitrate with one keyframe per second', () => {
    const source = new FrameSource();
    let bytes = 0;
    let keyframes = 0;
    let configs = 0;
    for (let i = 0; i < DEFAULT_FRAME_SPEC.videoFps; i++) {
      const { bytes: frame, keyframe } = source.nextVideo({ sentAtMs: 1, windowId: 0 });
      const parsed = decodeRelayFrame(frame);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.frame.keyframe).toBe(keyframe);
      if (keyframe) keyframes += 1;
      if (parsed.frame.config) {
        configs += 1;
        expect(parsed.frame.config).toEqual(VIDEO_CONFIG);
      }
      bytes += parsed.frame.data.byteLength;
    }
    for (let i = 0; i < DEFAULT_FRAME_SPEC.audioFps; i++) {
      const frame = source.nextAudio({ sentAtMs: 1, windowId: 0 });
      const header = readRelayHeader(frame);
      expect(header.ok && header.header.track).toBe('audio');
      bytes += frame.byteLength - RELAY_HEADER_BYTES - (i === 0 ? frame[2]! : 0);
    }
    expect(keyframes).toBe(1);
    expect(configs).toBe(1);
    const kbps = (bytes * 8) / 1000;
    expect(kbps).toBeGreaterThan(DEFAULT_FRAME_SPEC.totalKbps * 0.98);
    expect(kbps).toBeLessThan(DEFAULT_FRAME_SPEC.totalKbps * 1.02);
    expect(frameSizes(DEFAULT_FRAME_SPEC).keyframeBytes).toBeLessThan(512 * 1024);
  });

  it('stamps the send time and window id into the payload', () => {
    const source = new FrameSource();
    const frame = source.nextVideo({ sentAtMs: 1234.5, windowId: 7 }).bytes;
    const parsed = decodeRelayFrame(frame);
    expect(parsed.ok && readStamp(parsed.frame.data)).toEqual({ sentAtMs: 1234.5, windowId: 7 });
  });

  it('schedules frames by elapsed time so a late timer catches up', () => {
    expect(framesDue(DEFAULT_FRAME_SPEC, 0, { video: 0, audio: 0 })).toEqual({
      video: 1,
      audio: 1,
    });
    expect(framesDue(DEFAULT_FRAME_SPEC, 1000, { video: 1, audio: 1 })).toEqual({
      video: 30,
      audio: 50,
    });
    expect(framesDue(DEFAULT_FRAME_SPEC, 10, { video: 1, audio: 1 })).toEqual({
      video: 0,
      audio: 0,
    });
  });
});

const sent: PublisherWindowResult = {
  windowId: 1,
  videoFrames: 300,
  audioFrames: 500,
  bytes: 3_750_000,
  elapsedMs: 10_000,
  dropped: 0,
};

function group(viewers: number[], extra: Partial<ViewerGroupResult> = {}): ViewerGroupResult {
  const latency = new LatencyHistogram();
  latency.record(2);
  return {
    windowId: 1,
    viewers: viewers.length,
    videoFrames: viewers.reduce((a, b) => a + b, 0),
    audioFrames: viewers.length * 500,
    bytes: viewers.length * 3_750_000,
    perViewerVideo: viewers,
    latency: latency.toJSON(),
    throttledVideoFrames: 0,
    throttledAudioFrames: 0,
    throttledDisconnected: 0,
    disconnects: 0,
    workerCpuMs: 0,
    workerElapsedMs: 1000,
    loopDelayP99Ms: 1,
    ...extra,
  };
}

describe('window measures', () => {
  it('counts delivery against frames sent × viewers, and the worst viewer', () => {
    const m = measureWindow(
      sent,
      [group([300, 300]), group([297, 300], { throttledVideoFrames: 30 })],
      {
        serverCpuPct: 40,
        serverRssBytes: 100 * 1024 ** 2,
        hasThrottled: true,
      },
    );
    expect(m.viewers).toBe(4);
    expect(m.deliveredVideoPct).toBeCloseTo(99.75, 5);
    expect(m.deliveredAudioPct).toBe(100);
    expect(m.worstViewerVideoPct).toBeCloseTo(99, 5);
    expect(m.deliveredMbpsTotal).toBeCloseTo(12, 5);
    expect(m.deliveredMbpsPerViewer).toBeCloseTo(3, 5);
    expect(m.throttledVideoPct).toBeCloseTo(10, 5);
  });
});

describe('relay report', () => {
  const measure = (mbps: number, videoPct: number) =>
    measureWindow(
      sent,
      [group([Math.round((300 * videoPct) / 100)], { bytes: (mbps * 1e6 * 10) / 8 })],
      { serverCpuPct: 50, serverRssBytes: 1, hasThrottled: false },
    );
  const run = (
    target: RelayRun['target'],
    clean = measure(3, 100),
    throttled = null as RelayRun['throttled'],
  ): RelayRun => ({
    target,
    viewers: 100,
    setupFailures: 0,
    setupErrors: [],
    clean,
    throttled,
    serverPeakRssBytes: null,
    boxLoad1m: 1,
    error: null,
  });

  it('reports the ratio to raw ws and the throttled-viewer goal', () => {
    const report: RelayReport = {
      date: 'd',
      machine: { nproc: 2, cpuModel: 'cpu', ramGiB: 8, node: 'v20', kernel: 'Linux' },
      settings: {
        command: 'npm run bench:relay',
        sizes: [100],
        workers: 2,
        windowMs: 10_000,
        warmupMs: 2000,
        drainMs: 1500,
        throttleAt: 100,
        throttleSettleMs: 3000,
        spec: DEFAULT_FRAME_SPEC,
        frameSizes: frameSizes(DEFAULT_FRAME_SPEC),
      },
      runs: [run('roomcast', measure(2, 70), measure(2, 99.5)), run('raw-ws', measure(3, 100))],
    };
    const section = renderRelaySection(report, 'x.json');
    expect(section.startsWith(RELAY_SECTION.start)).toBe(true);
    expect(section.endsWith(RELAY_SECTION.end)).toBe(true);
    expect(section).toContain('0.67× → missed');
    expect(section).toMatch(/others lost 0\.33 % video, 0\.00 % audio → met/);
  });
});
