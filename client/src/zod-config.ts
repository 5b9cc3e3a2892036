import { z } from 'zod';

// zod probes `Function('')` to pick a JIT parser when a schema is built; the CSP forbids eval,
// so the probe would be reported as a violation. Imported first by main.ts, before any schema.
z.config({ jitless: true });
