import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './processes';

/** Builds the client into a fresh temp dir (the caller removes it) and returns the dir. */
export function buildClient(): string {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-bench-client-'));
  console.log(`building the client into ${outDir} …`);
  const result = spawnSync(
    path.join(REPO_ROOT, 'node_modules/.bin/vite'),
    ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: REPO_ROOT, stdio: 'inherit' },
  );
  if (result.status !== 0) {
    rmSync(outDir, { recursive: true, force: true });
    throw new Error(`vite build failed (${result.status ?? result.signal})`);
  }
  return outDir;
}
