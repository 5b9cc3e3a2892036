// `npm start`: install if needed, build the client if stale, then run the server in the foreground.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const binDir = path.join(root, 'node_modules', '.bin');
const env = {
  ...process.env,
  PORT: process.env.PORT ?? '8080',
  PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
};

function runOrExit(command, args) {
  console.log(`[start] ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`[start] ${command} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

/** Newest modification time of any file under dir (0 when it does not exist). */
function newestMtime(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const entryPath = path.join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(entryPath) : statSync(entryPath).mtimeMs;
    newest = Math.max(newest, mtime);
  }
  return newest;
}

if (!existsSync(path.join(root, 'node_modules'))) {
  const hasLockfile = existsSync(path.join(root, 'package-lock.json'));
  runOrExit('npm', [hasLockfile ? 'ci' : 'install', '--no-audit', '--no-fund']);
}

const builtIndex = path.join(root, 'dist', 'client', 'index.html');
const sourcesMtime = Math.max(
  newestMtime(path.join(root, 'client')),
  newestMtime(path.join(root, 'shared')),
);
if (!existsSync(builtIndex) || statSync(builtIndex).mtimeMs < sourcesMtime) {
  runOrExit('vite', ['build']);
}

const server = spawn('tsx', ['server/index.ts', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env,
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => server.kill(signal));
}
server.on('error', (error) => {
  console.error(`[start] could not start the server: ${error.message}`);
  process.exit(1);
});
server.on('exit', (code, signal) => {
  process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
});
