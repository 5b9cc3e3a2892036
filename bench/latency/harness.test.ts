import { describe, expect, it } from 'vitest';
import { spliceSection } from '../common/report';
import { benchInitScript } from './page-scripts';
import { LATENCY_SECTION, renderLatencySection, type LatencyReport } from './report';
import { decodeStamp, encodeStamp, STAMP_BITS } from './stamp';
import { evaluateGoals, percentile, summarize, type PathResult } from './stats';

describe('clock stamp', () => {
  it('round-trips a current clock reading through 48 blocks', () => {
    const now = 1_795_000_000_123;
    const bits = encodeStamp(now);
    expect(bits).toHaveLength(STAMP_BITS);
    expect(bits.every((b) => b === 0 || b === 1)).toBe(true);
    expect(decodeStamp(bits)).toBe(now);
  });

  it('rejects a frame with one flipped block', () => {
    const bits = encodeStamp(1_795_000_000_456);
    for (const index of [0, 20, 43, 47]) {
      const torn = [...bits];
      torn[index] = torn[index] ? 0 : 1;
      expect(decodeStamp(torn)).toBeNull();
    }
    expect(decodeStamp(bits.slice(1))).toBeNull();
  });

  it('serialises into a self-contained init script (no outside references)', () => {
    const script = benchInitScript('viewer');
    // Evaluating it must not throw for lack of a helper; the browser globals are stubbed.
    const run = new Function(
      'window',
      'document',
      'navigator',
      'MutationObserver',
      'performance',
      script,
    );
    const fakeWindow: Record<string, unknown> = {};
    const fakeDocument = { querySelectorAll: () => [] };
    class FakeObserver {
      observe() {}
    }
    run(fakeWindow, fakeDocument, {}, FakeObserver, performance);
    expect(fakeWindow.__bench).toMatchObject({ samples: [], frames: 0, firstFrameAt: null });
  });
});

describe('latency stats', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(summarize([]).count).toBe(0);
    expect(Number.isNaN(summarize([]).p50)).toBe(true);
  });

  const result = (path: PathResult['path'], p50: number, first: number[] = []): PathResult => ({
    path,
    latency: { ...summarize([p50]), p50 },
    joins: [],
    firstFrame: summarize(first),
  });

  it('evaluates the issue goals and says when something was not measured', () => {
    const goals = evaluateGoals([
      result('bare', 40),
      result('direct', 47),
      result('turn', 60),
      result('relay', 75, [450, 520, 480]),
    ]);
    expect(goals.map((g) => g.met)).toEqual([true, false, true, true]);
    const partial = evaluateGoals([result('bare', 40)]);
    expect(partial.every((g) => g.met === null)).toBe(true);
  });

  it('renders its own BENCHMARKS.md section and leaves the others alone', () => {
    const report: LatencyReport = {
      date: '2026-11-21 21:00 UTC',
      machine: { nproc: 2, cpuModel: 'cpu', ramGiB: 8, node: 'v20', kernel: 'Linux' },
      command: 'npm run bench:latency',
      chromium: 'Chromium 156',
      settings: { seconds: 10, joins: 2, quality: '720p30', codec: 'auto' },
      boxLoad1m: 0.5,
      results: [result('bare', 40), result('direct', 44)],
    };
    const section = renderLatencySection(report, 'bench/results/latency-x.json');
    expect(section.startsWith(LATENCY_SECTION.start)).toBe(true);
    expect(section.endsWith(LATENCY_SECTION.end)).toBe(true);
    expect(section).toContain('| direct | 44.0 |');
    expect(section).toContain('1.10×');
    const before = `# Benchmarks\n\n<!-- bench:signalling:start -->\nS\n<!-- bench:signalling:end -->\n\n${LATENCY_SECTION.start}\nold\n${LATENCY_SECTION.end}\n\ntail\n`;
    const after = spliceSection(before, section, LATENCY_SECTION);
    expect(after).toContain('<!-- bench:signalling:start -->\nS\n<!-- bench:signalling:end -->');
    expect(after).not.toContain('\nold\n');
    expect(after).toContain(section);
    expect(after.endsWith('\n\ntail\n')).toBe(true);
  });
});
