/** Run-loop scaffolding shared by the harnesses' run.ts: results files, BENCHMARKS.md, exits. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { killAllChildren, REPO_ROOT } from './processes';
import { spliceSection, type SectionMarkers } from './report';

export const RESULTS_DIR = path.join(REPO_ROOT, 'bench/results');
const BENCHMARKS_MD = path.join(REPO_ROOT, 'BENCHMARKS.md');

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The command line as the user typed it, e.g. `npm run bench:relay -- --quick`. */
export function commandLine(script: string, argv: string[]): string {
  return `npm run ${script}${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
}

/** The report's `date` field: minutes, UTC. */
export function reportDate(startedAt: Date): string {
  return `${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Formats an output file with the repo's Prettier config, so `npm run lint` stays clean. */
export async function formatForRepo(text: string, filePath: string): Promise<string> {
  try {
    const config = await prettier.resolveConfig(filePath);
    return await prettier.format(text, { ...config, filepath: filePath });
  } catch {
    return text;
  }
}

/**
 * Writes bench/results/<prefix>-<time>.json, prints the rendered section and, unless
 * `write` is false, splices it into BENCHMARKS.md between `markers`.
 */
export async function writeResults<R>(options: {
  prefix: string;
  startedAt: Date;
  report: R;
  render: (report: R, rawJsonPath: string) => string;
  markers: SectionMarkers;
  write: boolean;
}): Promise<void> {
  const { prefix, startedAt, report, render, markers, write } = options;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const rawPath = path.join(
    RESULTS_DIR,
    `${prefix}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(rawPath, await formatForRepo(`${JSON.stringify(report, null, 2)}\n`, rawPath));
  const section = render(report, path.relative(REPO_ROOT, rawPath));
  console.log(`\n${section}\n`);
  if (write) {
    const existing = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, 'utf8') : null;
    writeFileSync(
      BENCHMARKS_MD,
      await formatForRepo(spliceSection(existing, section, markers), BENCHMARKS_MD),
    );
    console.log(`wrote ${path.relative(REPO_ROOT, rawPath)} and BENCHMARKS.md`);
  } else {
    console.log(`wrote ${path.relative(REPO_ROOT, rawPath)} (BENCHMARKS.md untouched: --no-write)`);
  }
}

/** Stops the run (kills every child, exit code 2) once it has taken `maxMinutes`. */
export function startDeadline(maxMinutes: number): void {
  const deadline = setTimeout(() => {
    console.error(`bench exceeded --max-minutes ${maxMinutes}; stopping`);
    killAllChildren();
    process.exit(2);
  }, maxMinutes * 60_000);
  deadline.unref();
}

/** Kills every child on exit, Ctrl-C / SIGTERM (exit 130) and a failed `main` (exit 1). */
export function runMain(main: () => Promise<void>): void {
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping all benchmark processes`);
      killAllChildren();
      process.exit(130);
    });
  }
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    killAllChildren();
    process.exit(1);
  });
}
