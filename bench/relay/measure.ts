/** Turns one window's publisher count and viewer tallies into the reported measures (pure). */
import { LatencyHistogram } from '../signalling/histogram';
import type { PublisherWindowResult, ViewerGroupResult } from './ipc';
import type { WindowMeasure } from './report';

/** Merges the viewer groups' tallies for one window against what the publisher sent. */
export function measureWindow(
  sent: PublisherWindowResult,
  groups: ViewerGroupResult[],
  extra: {
    serverCpuPct: number | null;
    serverRssBytes: number | null;
    hasThrottled: boolean;
  },
): WindowMeasure {
  const latency = new LatencyHistogram();
  let viewers = 0;
  let video = 0;
  let audio = 0;
  let bytes = 0;
  let throttledVideo = 0;
  let throttledAudio = 0;
  let disconnects = 0;
  let throttledDisconnected = 0;
  let workerCpuPct = 0;
  const perViewer: number[] = [];
  for (const group of groups) {
    latency.merge(group.latency);
    viewers += group.viewers;
    video += group.videoFrames;
    audio += group.audioFrames;
    bytes += group.bytes;
    throttledVideo += group.throttledVideoFrames;
    throttledAudio += group.throttledAudioFrames;
    disconnects += group.disconnects;
    throttledDisconnected += group.throttledDisconnected;
    if (group.workerElapsedMs > 0)
      workerCpuPct += (group.workerCpuMs / group.workerElapsedMs) * 100;
    perViewer.push(...group.perViewerVideo);
  }
  const share = (got: number, of: number) => (of === 0 ? 0 : (got / of) * 100);
  const seconds = sent.elapsedMs / 1000;
  const mbps = seconds > 0 ? (bytes * 8) / 1e6 / seconds : 0;
  return {
    viewers,
    windowMs: sent.elapsedMs,
    sentVideo: sent.videoFrames,
    sentAudio: sent.audioFrames,
    sentBytes: sent.bytes,
    deliveredVideoPct: share(video, sent.videoFrames * viewers),
    deliveredAudioPct: share(audio, sent.audioFrames * viewers),
    worstViewerVideoPct: perViewer.length ? share(Math.min(...perViewer), sent.videoFrames) : 0,
    deliveredMbpsTotal: mbps,
    deliveredMbpsPerViewer: viewers > 0 ? mbps / viewers : 0,
    latency: latency.summary(),
    serverCpuPct: extra.serverCpuPct,
    serverRssBytes: extra.serverRssBytes,
    serverLoopDelayP99Ms: null,
    serverLoopDelayMaxMs: null,
    workerLoopDelayP99Ms: Math.max(0, ...groups.map((g) => g.loopDelayP99Ms)),
    // Summed over the viewer workers, % of one core: near 100 % per worker means the load
    // generator, not the server, was the limit.
    workerCpuPct,
    throttledVideoPct: extra.hasThrottled ? share(throttledVideo, sent.videoFrames) : null,
    throttledAudioPct: extra.hasThrottled ? share(throttledAudio, sent.audioFrames) : null,
    throttledDisconnected,
    disconnects,
  };
}
