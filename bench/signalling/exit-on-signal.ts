/**
 * Preloaded into the server child (`node --import`) so SIGTERM always ends in a normal
 * `process.exit`: that is what makes `--cpu-prof` write its profile, even if the server
 * itself installs no signal handler. If the server shuts down gracefully on its own first,
 * this timer never matters.
 */
const GRACE_MS = 1500;

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    setTimeout(() => process.exit(0), GRACE_MS).unref();
  });
}
