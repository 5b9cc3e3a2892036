// `npm run dev`: the server (restarted on change) and the Vite dev server together.
import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const binDir = path.join(root, 'node_modules', '.bin');
const env = {
  ...process.env,
  PORT: process.env.PORT ?? '8080',
  PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
};

const children = [
  spawn('tsx', ['watch', 'server/index.ts'], { cwd: root, stdio: 'inherit', env }),
  spawn('vite', [], { cwd: root, stdio: 'inherit', env }),
];

let shuttingDown = false;
function shutDown(exitCode) {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  // Give the children a moment to exit cleanly, then stop waiting.
  setTimeout(() => process.exit(exitCode), 2000).unref();
  Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve();
          else child.once('exit', resolve);
        }),
    ),
  ).then(() => process.exit(exitCode));
}

for (const child of children) {
  child.on('error', (error) => {
    console.error(`[dev] could not start ${child.spawnfile}: ${error.message}`);
    shutDown(1);
  });
  // When either one stops, stop the other too.
  child.on('exit', (code) => shutDown(code ?? 1));
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => shutDown(0));
}
process.on('exit', () => {
  for (const child of children) child.kill('SIGTERM');
});
