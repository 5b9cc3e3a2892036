/** Messages between the runner (parent) and its load-generating worker processes. */
import type { HistogramJson } from './histogram';

export type TargetName = 'roomcast' | 'peerjs';

export interface WorkerInit {
  type: 'init';
  target: TargetName;
  /** roomcast: http://127.0.0.1:<port>; peerjs: ws://127.0.0.1:<port>/peerjs */
  url: string;
  workerIndex: number;
  rooms: number;
  viewersPerRoom: number;
  /** This worker's share of the connect/create/join arrival rate, per second. */
  ratePerSec: number;
  /** The most connects/joins this worker keeps in flight at once. */
  concurrency: number;
  requestTimeoutMs: number;
}

export type PhaseName = 'connect' | 'create' | 'join' | 'signal';

export interface PhaseCommand {
  type: 'phase';
  phase: PhaseName;
  /** signal only: how long broadcasters start new negotiation rounds. */
  durationMs?: number;
  /** signal only: each viewer gets one offer/answer/candidates round this often. */
  roundIntervalMs?: number;
  /** signal only: how long to keep counting after the last round started. */
  drainMs?: number;
}

export interface CloseCommand {
  type: 'close';
}

export type ParentToWorker = WorkerInit | PhaseCommand | CloseCommand;

export interface PhaseResult {
  ok: number;
  failed: number;
  /** First few distinct failure reasons, bounded. */
  errors: string[];
  latency: HistogramJson;
  elapsedMs: number;
}

export interface SignalResult extends PhaseResult {
  sent: number;
  /** Relayed messages received within the send window (for msgs/s). */
  deliveredInWindow: number;
  /** Relayed messages received by the end of the drain period (for loss). */
  deliveredTotal: number;
  windowMs: number;
  /** Server-originated events seen meanwhile (e.g. roomcast's stats_summary). */
  otherEvents: number;
  workerCpuMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export type WorkerToParent =
  /** Sent once the worker listens for commands (IPC messages before that would be lost). */
  | { type: 'started' }
  | { type: 'ready' }
  | { type: 'phase_done'; phase: PhaseName; result: PhaseResult | SignalResult }
  | { type: 'fatal'; message: string };

/** stderr lines from a server child that carry a server-probe.ts reading start with this. */
export const PROBE_PREFIX = '{"benchProbe":';
