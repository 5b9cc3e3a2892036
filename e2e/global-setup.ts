import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '..');

/** The server serves dist/client; build it once when `npm test` did not already. */
export default function globalSetup(): void {
  if (existsSync(path.join(repoRoot, 'dist', 'client', 'index.html'))) return;
  console.log('[e2e] dist/client is missing: running vite build');
  const result = spawnSync('npx', ['vite', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`vite build failed (exit ${result.status ?? result.signal})`);
  }
}
