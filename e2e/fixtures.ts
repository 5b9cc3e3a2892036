import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test as base, expect } from '@playwright/test';

const repoRoot = path.resolve(import.meta.dirname, '..');
const tsxBin = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
const startupTimeoutMs = 30_000;
/** Bounded tail of the server's output, quoted in errors. */
const maxLogLines = 200;

export interface RunningServer {
  port: number;
  baseURL: string;
  /** The last server log lines (stdout and stderr), newest last. */
  logTail(): string;
}

export interface ServerFixtures {
  /** Extra environment for this file's server, e.g. `test.use({ serverEnv: { MAX_VIEWERS: '2' } })`. */
  serverEnv: Record<string, string>;
  server: RunningServer;
}

interface ListeningLine {
  msg?: unknown;
  port?: unknown;
}

function parseListeningPort(line: string): number | null {
  if (!line.includes('"listening"')) return null;
  try {
    const parsed = JSON.parse(line) as ListeningLine;
    return parsed.msg === 'listening' && typeof parsed.port === 'number' ? parsed.port : null;
  } catch {
    return null;
  }
}

/** Stops the server and everything tsx spawned under it (it runs in its own process group). */
function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  const pid = child.pid;
  return new Promise((resolve) => {
    const forceKill = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    child.once('exit', () => {
      clearTimeout(forceKill);
      resolve();
    });
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      clearTimeout(forceKill);
      resolve();
    }
  });
}

/** Spawns `tsx server/index.ts` on a free port and resolves once it logs `listening`. */
export async function startServer(extraEnv: Record<string, string> = {}): Promise<{
  server: RunningServer;
  stop: () => Promise<void>;
}> {
  const logLines: string[] = [];
  const remember = (line: string) => {
    logLines.push(line);
    if (logLines.length > maxLogLines) logLines.shift();
    if (process.env.E2E_SERVER_LOG) console.log(`[server] ${line}`);
  };
  const logTail = () => logLines.join('\n');

  const child = spawn(tsxBin, ['server/index.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // The SFU's UDP port too: servers of parallel runs must not collide.
      WEBRTC_UDP_PORT: '0',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  createInterface({ input: child.stderr! }).on('line', remember);

  const port = await new Promise<number>((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      reject(new Error(`e2e server did not start: ${reason}\n--- server output ---\n${logTail()}`));
    };
    const timer = setTimeout(
      () => fail(`no "listening" log line within ${startupTimeoutMs} ms`),
      startupTimeoutMs,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line);
      const listeningPort = parseListeningPort(line);
      if (listeningPort !== null) {
        clearTimeout(timer);
        resolve(listeningPort);
      }
    });
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => {
      // Let the last stderr lines (usually the reason) reach the log tail first.
      setTimeout(() => fail(`exited early (code ${code}, signal ${signal})`), 100);
    });
  }).catch(async (error: unknown) => {
    await stopProcessGroup(child);
    throw error;
  });

  return {
    // localhost (not 127.0.0.1) so pages are a secure context for camera and WebCodecs.
    server: { port, baseURL: `http://localhost:${port}`, logTail },
    stop: () => stopProcessGroup(child),
  };
}

interface TestFixtures {
  /** Attaches the server's log tail to a failed test's report. */
  serverLogOnFailure: void;
}

export const test = base.extend<TestFixtures, ServerFixtures>({
  serverEnv: [{}, { scope: 'worker', option: true }],
  server: [
    async ({ serverEnv }, use) => {
      const { server, stop } = await startServer(serverEnv);
      try {
        await use(server);
      } finally {
        await stop();
      }
    },
    { scope: 'worker', timeout: startupTimeoutMs + 10_000 },
  ],
  // Every page and request in a test talks to this worker's server.
  baseURL: async ({ server }, use) => {
    await use(server.baseURL);
  },
  serverLogOnFailure: [
    async ({ server }, use, testInfo) => {
      await use();
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach('server-log', { body: server.logTail(), contentType: 'text/plain' });
      }
    },
    { auto: true },
  ],
});

export { expect };
