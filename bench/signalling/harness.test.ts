import { describe, expect, it } from 'vitest';
import { SignalSchema } from '../../shared/schemas';
import { packageOf, summarizeProfile } from './cpu-profile';
import { LatencyHistogram } from './histogram';
import {
  ANSWER_BYTES,
  OFFER_BYTES,
  answerSdp,
  iceCandidate,
  nowMs,
  offerSdp,
  readStamp,
} from './payloads';
import {
  SECTION_END,
  SECTION_START,
  renderSection,
  spliceSection,
  type BenchReport,
  type TargetRun,
} from './report';

describe('LatencyHistogram', () => {
  it('reports percentiles within about 1 %', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) histogram.record(ms);
    const summary = histogram.summary();
    expect(summary.count).toBe(1000);
    expect(summary.p50).toBeGreaterThanOrEqual(500);
    expect(summary.p50).toBeLessThanOrEqual(505);
    expect(summary.p99).toBeGreaterThanOrEqual(990);
    expect(summary.p99).toBeLessThanOrEqual(1000);
    expect(summary.max).toBe(1000);
    expect(summary.mean).toBeCloseTo(500.5, 5);
  });

  it('merges through its JSON form as if all samples were recorded once', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 0; i < 500; i++) {
      a.record(i * 0.1);
      b.record(100 + i);
      all.record(i * 0.1);
      all.record(100 + i);
    }
    const merged = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    merged.merge(JSON.parse(JSON.stringify(b.toJSON())));
    expect(merged.summary()).toEqual(all.summary());
  });

  it('treats an empty histogram and odd samples safely', () => {
    const empty = new LatencyHistogram();
    expect(empty.summary()).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
    const merged = new LatencyHistogram();
    merged.merge(JSON.parse(JSON.stringify(empty.toJSON())));
    merged.record(Number.NaN);
    merged.record(-0.5);
    expect(merged.count).toBe(1);
    expect(merged.percentile(99)).toBe(0);
  });
});

describe('payloads', () => {
  it('have realistic sizes and carry a readable send time', () => {
    const at = nowMs();
    expect(offerSdp(at)).toHaveLength(OFFER_BYTES);
    expect(answerSdp(at)).toHaveLength(ANSWER_BYTES);
    expect(readStamp(offerSdp(at))).toBeCloseTo(at, 2);
    expect(readStamp(iceCandidate(3, at).candidate)).toBeCloseTo(at, 2);
    expect(readStamp('no stamp here')).toBeNull();
  });

  it('pass the roomcast signal schema, so the server relays them', () => {
    const at = nowMs();
    expect(
      SignalSchema.safeParse({ to: 'abc', description: { type: 'offer', sdp: offerSdp(at) } })
        .success,
    ).toBe(true);
    expect(
      SignalSchema.safeParse({ to: 'abc', description: { type: 'answer', sdp: answerSdp(at) } })
        .success,
    ).toBe(true);
    expect(SignalSchema.safeParse({ to: 'abc', candidate: iceCandidate(5, at) }).success).toBe(
      true,
    );
  });
});

describe('BENCHMARKS.md section', () => {
  const section = `${SECTION_START}\nnew numbers\n${SECTION_END}`;

  it('creates the file when there is none', () => {
    const text = spliceSection(null, section);
    expect(text.startsWith('# Benchmarks')).toBe(true);
    expect(text).toContain(section);
  });

  it('replaces only its own section', () => {
    const before = `# Benchmarks\n\nintro\n\n${SECTION_START}\nold\n${SECTION_END}\n\n## Relay fan-out\nkeep me\n`;
    const after = spliceSection(before, section);
    expect(after).toBe(`# Benchmarks\n\nintro\n\n${section}\n\n## Relay fan-out\nkeep me\n`);
  });

  it('appends its section when the markers are missing', () => {
    expect(spliceSection('# Benchmarks\n\nother\n', section)).toBe(
      `# Benchmarks\n\nother\n\n${section}\n`,
    );
  });

  it('renders both servers and their ratio', () => {
    const run = (target: 'roomcast' | 'peerjs', relayP99: number): TargetRun => ({
      target,
      clients: 1000,
      rooms: 100,
      workers: 2,
      connect: null,
      join: {
        ok: 900,
        failed: 0,
        errors: [],
        latency: { count: 900, mean: 2, p50: 1, p90: 3, p99: 5, max: 9 },
        elapsedMs: 1,
      },
      relay: { count: 10, mean: 1, p50: 1, p90: 2, p99: relayP99, max: 10 },
      sent: 10,
      deliveredInWindow: 10,
      deliveredTotal: 10,
      msgsPerSec: 100,
      lossPct: 0,
      otherEvents: 0,
      serverRss: {
        baselineBytes: 1,
        afterJoinBytes: 2,
        afterSignalBytes: 3 * 1024 ** 2,
        peakBytes: 4,
      },
      rssPerClientBytes: 2048,
      serverCpuPct: 50,
      workerCpuPct: 20,
      workerLoopDelayP99Ms: 1,
      serverLoopDelay: { join: null, signal: null },
      boxLoad1m: 0.5,
      attempt: 1,
      error: null,
    });
    const report: BenchReport = {
      date: '2026-01-01 00:00 UTC',
      machine: { nproc: 2, cpuModel: 'Test CPU', ramGiB: 4, node: 'v20', kernel: 'Linux' },
      settings: {
        command: 'npm run bench:signalling -- --quick',
        clientCounts: [1000],
        workers: 2,
        viewersPerRoom: 9,
        durationMs: 1000,
        roundIntervalMs: 1000,
        drainMs: 1000,
        ratePerSec: 500,
        concurrency: 64,
        repeat: 1,
      },
      runs: [run('roomcast', 4), run('peerjs', 8)],
      attempts: [],
      profile: null,
    };
    const text = renderSection(report, 'bench/results/x.json');
    expect(text.startsWith(SECTION_START)).toBe(true);
    expect(text.endsWith(SECTION_END)).toBe(true);
    expect(text).toContain('| 1000 | 1.00× | 0.50× | 1.00× |');
    expect(text).toContain('npm run bench:signalling -- --quick');
  });
});

describe('cpu profile summary', () => {
  it('groups self time by package', () => {
    expect(packageOf('file:///x/node_modules/socket.io-parser/build/index.js', 'f')).toBe(
      'socket.io-parser',
    );
    expect(packageOf('file:///x/node_modules/@socket.io/component-emitter/a.js', 'f')).toBe(
      '@socket.io/component-emitter',
    );
    expect(packageOf('node:internal/streams/writable', 'f')).toBe('node:internal');
    expect(packageOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(packageOf('file:///work/main/server/signalling.ts', 'f')).toBe('server/');
    const summary = summarizeProfile({
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 } },
        {
          id: 2,
          callFrame: {
            functionName: 'parse',
            url: 'file:///n/node_modules/zod/a.js',
            lineNumber: 1,
          },
        },
        { id: 3, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: 0 } },
        { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: 0 } },
      ],
      samples: [2, 2, 2, 3, 4, 4, 4, 4],
    });
    expect(summary.busyPct).toBe(50);
    expect(summary.byPackage[0]).toEqual({ name: 'zod', selfPct: 75 });
    expect(summary.byFunction[1]).toEqual({
      name: '(garbage collector) [(garbage collector)]',
      selfPct: 25,
    });
  });
});
