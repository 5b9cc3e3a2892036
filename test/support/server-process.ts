import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const tsxBin = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
const STARTUP_TIMEOUT_MS = 20_000;
const MAX_LINES = 500;

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** The `listening` log line, parsed. */
  listening: Record<string, unknown>;
  /** Every output line so far (bounded), newest last. */
  lines: string[];
  /** Resolves with the exit code (null after a signal) and signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the whole process group if it is still running (cleanup). */
  kill(): void;
}

/**
 * The real server as production runs it (`tsx server/index.ts`, what `npm start` spawns), in its
 * own process group, on PORT=0; resolves once it logs `listening` with the port it got.
 */
export function spawnServer(
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<ServerProcess> {
  const child = spawn(tsxBin, ['server/index.ts', ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      WEBRTC_UDP_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  const remember = (line: string) => {
    lines.push(line);
    if (lines.length > MAX_LINES) lines.shift();
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const kill = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  createInterface({ input: child.stderr! }).on('line', remember);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      kill();
      reject(new Error(`server did not start: ${why}\n${lines.join('\n')}`));
    };
    const timer = setTimeout(() => fail('no listening line'), STARTUP_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line);
      if (!line.includes('"listening"')) return;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg !== 'listening' || typeof parsed.port !== 'number') return;
      clearTimeout(timer);
      resolve({ child, port: parsed.port, listening: parsed, lines, exited, kill });
    });
    child.once('error', (err) => fail(err.message));
    void exited.then(({ code, signal }) => fail(`exited (code ${code}, signal ${signal})`));
  });
}
