/** Messages between the relay benchmark runner and its publisher/viewer worker processes. */
import type { HistogramJson } from '../signalling/histogram';
import type { FrameSpec } from './frames';

export type RelayTarget = 'roomcast' | 'raw-ws';

export type RelayParentToWorker =
  | {
      type: 'init_publisher';
      target: RelayTarget;
      /** roomcast: http://127.0.0.1:<port>; raw-ws: ws://127.0.0.1:<port> */
      url: string;
      spec: FrameSpec;
    }
  | {
      type: 'init_viewers';
      target: RelayTarget;
      url: string;
      roomId: string | null;
      /** Viewers that are measured. */
      count: number;
      /** Extra viewers that can be told to stop reading their socket (0 or 1). */
      throttled: number;
      concurrency: number;
      requestTimeoutMs: number;
    }
  /** Publisher: stamp frames with this window id from now on (0 = outside any window). */
  | { type: 'window'; windowId: number }
  /** Viewers: report what arrived for this window id. */
  | { type: 'collect'; windowId: number }
  /** Viewers: stop (true) or resume (false) reading the throttled sockets. */
  | { type: 'throttle'; paused: boolean }
  | { type: 'close' };

export interface PublisherWindowResult {
  windowId: number;
  videoFrames: number;
  audioFrames: number;
  bytes: number;
  elapsedMs: number;
  /** Frames the publisher could not send (socket not connected). */
  dropped: number;
}

export interface ViewerGroupResult {
  windowId: number;
  /** Measured viewers only. */
  viewers: number;
  videoFrames: number;
  audioFrames: number;
  bytes: number;
  /** Per-viewer received video frames (measured viewers), for spread. */
  perViewerVideo: number[];
  latency: HistogramJson;
  throttledVideoFrames: number;
  throttledAudioFrames: number;
  /** Throttled viewers the server (or a heartbeat timeout) disconnected. */
  throttledDisconnected: number;
  /** Unexpected disconnects of any viewer of this worker so far. */
  disconnects: number;
  /** CPU time of this worker since its previous collect, and the wall time it covers. */
  workerCpuMs: number;
  workerElapsedMs: number;
  loopDelayP99Ms: number;
}

export type RelayWorkerToParent =
  | { type: 'started' }
  | { type: 'publisher_ready'; roomId: string | null }
  | { type: 'viewers_ready'; ok: number; failed: number; errors: string[] }
  | { type: 'window_done'; result: PublisherWindowResult }
  | { type: 'collected'; result: ViewerGroupResult }
  | { type: 'throttled'; sockets: number }
  | { type: 'fatal'; message: string };
