import type { BrowserContext, Page } from '@playwright/test';
import { startCoturn } from '../../test/support/coturn';
import { startServer, test as base } from '../fixtures';

/**
 * A Playwright `test` whose worker starts a real coturn (turn/turnserver.test.conf) BEFORE the
 * app server, and gives the server TURN_URLS/TURN_SECRET for it. Per-file options:
 *   test.use({ coturnOptions: { listenIp: '198.18.0.1', extraArgs: [...] } })
 * coturn always runs with --verbose: only then does it log one line per ALLOCATE, which the
 * specs read to prove that coturn accepted a viewer's TURN REST credentials.
 */

export type Coturn = Awaited<ReturnType<typeof startCoturn>>;

export interface CoturnOptions {
  listenIp?: string;
  extraArgs?: string[];
}

export interface CoturnWorkerFixtures {
  coturnOptions: CoturnOptions;
  coturn: Coturn;
}

const coturnStartupTimeoutMs = 20_000;
const serverStartupTimeoutMs = 40_000;

/** The server environment that points the app at this coturn. */
export function turnServerEnv(coturn: Coturn): Record<string, string> {
  return { TURN_URLS: coturn.urls.join(','), TURN_SECRET: coturn.secret };
}

export const test = base.extend<object, CoturnWorkerFixtures>({
  coturnOptions: [{}, { scope: 'worker', option: true }],
  coturn: [
    async ({ coturnOptions }, use) => {
      const extraArgs = coturnOptions.extraArgs ?? [];
      const coturn = await startCoturn({
        ...(coturnOptions.listenIp !== undefined ? { listenIp: coturnOptions.listenIp } : {}),
        extraArgs: extraArgs.includes('--verbose') ? extraArgs : [...extraArgs, '--verbose'],
      });
      try {
        await use(coturn);
      } finally {
        await coturn.stop();
      }
    },
    { scope: 'worker', timeout: coturnStartupTimeoutMs },
  ],
  // Same as the base fixture, with coturn's URLs and secret added to this file's serverEnv.
  server: [
    async ({ serverEnv, coturn }, use) => {
      const { server, stop } = await startServer({ ...turnServerEnv(coturn), ...serverEnv });
      try {
        await use(server);
      } finally {
        await stop();
      }
    },
    { scope: 'worker', timeout: serverStartupTimeoutMs },
  ],
});

export { expect } from '../fixtures';

/** coturn log lines saying it accepted an ALLOCATE from `<expiry>:<clientId>` (verbose log). */
export function acceptedAllocations(coturn: Coturn, clientId: string): string[] {
  const escaped = clientId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const line = new RegExp(`user <\\d+:${escaped}>: incoming packet ALLOCATE processed, success`);
  return coturn
    .logs()
    .split('\n')
    .filter((l) => line.test(l));
}

/** What the browser's selected ICE candidate pair of one RTCPeerConnection says. */
export interface SelectedPair {
  connectionState: string;
  localType: string | null;
  /** The transport between the browser and its first hop (udp/tcp). */
  localProtocol: string | null;
  /** For a relay candidate: how the browser reaches the TURN server (udp/tcp/tls). */
  relayProtocol: string | null;
  localAddress: string | null;
  remoteType: string | null;
  remoteAddress: string | null;
  bytesReceived: number;
}

/**
 * Keeps every RTCPeerConnection the pages of `context` create (the last 16 per page) on
 * `window.__rcPeerConnections`, so a test can read the real selected candidate pair. Call it
 * before the page loads.
 */
export async function trackPeerConnections(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    if (!Original) return;
    const tracked: RTCPeerConnection[] = [];
    (window as unknown as { __rcPeerConnections: RTCPeerConnection[] }).__rcPeerConnections =
      tracked;
    class TrackedPeerConnection extends Original {
      constructor(config?: RTCConfiguration) {
        super(config);
        tracked.push(this);
        if (tracked.length > 16) tracked.shift();
      }
    }
    window.RTCPeerConnection = TrackedPeerConnection;
  });
}

/** The selected candidate pair of each open tracked RTCPeerConnection in the page. */
export async function selectedPairs(page: Page): Promise<SelectedPair[]> {
  return page.evaluate(async () => {
    const pcs =
      (window as unknown as { __rcPeerConnections?: RTCPeerConnection[] }).__rcPeerConnections ??
      [];
    const out: SelectedPair[] = [];
    for (const pc of pcs) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      const byId = new Map<string, Record<string, unknown>>();
      stats.forEach((report: Record<string, unknown>) => byId.set(report.id as string, report));
      let pairId: string | null = null;
      for (const report of byId.values()) {
        if (report.type === 'transport' && typeof report.selectedCandidatePairId === 'string') {
          pairId = report.selectedCandidatePairId;
        }
      }
      const pair = pairId ? byId.get(pairId) : undefined;
      const local = pair ? byId.get(pair.localCandidateId as string) : undefined;
      const remote = pair ? byId.get(pair.remoteCandidateId as string) : undefined;
      const str = (v: unknown) => (typeof v === 'string' ? v : null);
      out.push({
        connectionState: pc.connectionState,
        localType: str(local?.candidateType),
        localProtocol: str(local?.protocol),
        relayProtocol: str(local?.relayProtocol),
        localAddress: str(local?.address),
        remoteType: str(remote?.candidateType),
        remoteAddress: str(remote?.address),
        bytesReceived: typeof pair?.bytesReceived === 'number' ? pair.bytesReceived : 0,
      });
    }
    return out;
  });
}
