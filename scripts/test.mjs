// `npm test`: every check CI runs, in order, stopping at the first failure.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

// npm already puts node_modules/.bin on PATH; this also covers `node scripts/test.mjs`.
const binDir = path.resolve('node_modules', '.bin');
const env = { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` };

/** Each step runs a binary from node_modules/.bin (npm puts it on PATH). */
const steps = [
  { name: 'eslint', command: 'eslint', args: ['.'] },
  { name: 'prettier', command: 'prettier', args: ['--check', '.'] },
  { name: 'tsc', command: 'tsc', args: ['--noEmit', '-p', 'tsconfig.json'] },
  {
    name: 'svelte-check',
    command: 'svelte-check',
    args: ['--tsconfig', './tsconfig.json', '--fail-on-warnings'],
  },
  { name: 'vitest', command: 'vitest', args: ['run'] },
  { name: 'vite build', command: 'vite', args: ['build'] },
  { name: 'playwright', command: 'playwright', args: ['test', '-c', 'e2e/playwright.config.ts'] },
];

let activeChild = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    activeChild?.kill(signal);
    process.exit(130);
  });
}

function runStep(step) {
  return new Promise((resolve) => {
    const child = spawn(step.command, step.args, { stdio: 'inherit', env });
    activeChild = child;
    child.on('error', (error) => {
      console.error(`[test] could not start ${step.command}: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      activeChild = null;
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

function formatSeconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

let passed = 0;
let failed = 0;
const suiteStart = performance.now();
for (const step of steps) {
  console.log(`\n[test] ▶ ${step.name}: ${step.command} ${step.args.join(' ')}`);
  const stepStart = performance.now();
  const exitCode = await runStep(step);
  const duration = formatSeconds(performance.now() - stepStart);
  if (exitCode === 0) {
    passed += 1;
    console.log(`[test] ✔ ${step.name} passed in ${duration}`);
  } else {
    failed += 1;
    console.log(`[test] ✘ ${step.name} failed (exit ${exitCode}) after ${duration}`);
    break;
  }
}
console.log(`\n[test] total ${formatSeconds(performance.now() - suiteStart)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
