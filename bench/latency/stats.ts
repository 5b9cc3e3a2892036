/** Percentiles and per-path summaries for the latency benchmark (pure). */
export interface LatencyStats {
  count: number;
  p50: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of an unsorted sample; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(values: readonly number[]): LatencyStats {
  if (values.length === 0) {
    return { count: 0, p50: NaN, p95: NaN, mean: NaN, min: NaN, max: NaN };
  }
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return {
    count: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    mean: sum / values.length,
    min,
    max,
  };
}

export type LatencyPath = 'bare' | 'direct' | 'turn' | 'sfu' | 'relay';
export const LATENCY_PATHS: readonly LatencyPath[] = ['bare', 'direct', 'turn', 'sfu', 'relay'];

export interface JoinResult {
  /** Milliseconds from the join click to the first presented frame; null if none came. */
  firstFrameMs: number | null;
  samples: number;
  frames: number;
  badReads: number;
  videoSize: string;
  /** What the page showed: connection-path data-path (bare: the local candidate type). */
  observedPath: string;
  codec: string;
  reason: string;
  error: string | null;
}

export interface PathResult {
  path: LatencyPath;
  latency: LatencyStats;
  joins: JoinResult[];
  firstFrame: LatencyStats;
}

export interface Goal {
  name: string;
  value: string;
  met: boolean | null;
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');

/** The issue-3 latency goals, evaluated honestly (null = could not be measured). */
export function evaluateGoals(results: readonly PathResult[]): Goal[] {
  const get = (path: LatencyPath) => results.find((r) => r.path === path);
  const bare = get('bare')?.latency.p50 ?? NaN;
  const direct = get('direct')?.latency.p50 ?? NaN;
  const turn = get('turn')?.latency.p50 ?? NaN;
  const relay = get('relay');
  const known = (...values: number[]) => values.every((v) => Number.isFinite(v));
  const goals: Goal[] = [];
  goals.push({
    name: 'direct p50 ≤ 1.2 × bare p50',
    value: known(direct, bare)
      ? `${fmt(direct)} vs ${fmt(bare)} ms (${(direct / bare).toFixed(2)}×)`
      : '–',
    met: known(direct, bare) ? direct <= 1.2 * bare : null,
  });
  goals.push({
    name: 'TURN p50 ≤ direct p50 + 10 ms',
    value: known(turn, direct)
      ? `${fmt(turn)} vs ${fmt(direct)} ms (${turn >= direct ? '+' : '−'}${fmt(Math.abs(turn - direct))})`
      : '–',
    met: known(turn, direct) ? turn <= direct + 10 : null,
  });
  const relayP50 = relay?.latency.p50 ?? NaN;
  goals.push({
    name: 'relay p50 ≤ 80 ms',
    value: known(relayP50) ? `${fmt(relayP50)} ms` : '–',
    met: known(relayP50) ? relayP50 <= 80 : null,
  });
  const relayFirst = relay?.firstFrame.p50 ?? NaN;
  goals.push({
    name: 'relay time to first frame ≤ 500 ms',
    value: known(relayFirst)
      ? `${fmt(relayFirst)} ms p50 of ${relay!.firstFrame.count} joins (max ${fmt(relay!.firstFrame.max)})`
      : '–',
    met: known(relayFirst) ? relayFirst <= 500 : null,
  });
  // Issue 13: the server WebRTC rung, when it was measured.
  const sfu = get('sfu')?.latency.p50;
  if (sfu !== undefined) {
    goals.push({
      name: 'SFU p50 ≤ 1.3 × direct p50',
      value: known(sfu, direct)
        ? `${fmt(sfu)} vs ${fmt(direct)} ms (${(sfu / direct).toFixed(2)}×)`
        : '–',
      met: known(sfu, direct) ? sfu <= 1.3 * direct : null,
    });
  }
  return goals;
}
