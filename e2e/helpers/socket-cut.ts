import type { Page, WebSocketRoute } from '@playwright/test';

export interface SocketCut {
  /** Closes the page's live signalling sockets and refuses new ones for `ms`. */
  cutFor(ms: number): Promise<void>;
  /** Signalling sockets the page opened so far (each reconnect opens one). */
  readonly connections: number;
}

/**
 * Puts the page's Socket.IO WebSocket behind Playwright's WebSocket routing, so a test can
 * cut the signalling path alone (a network drop, as the server and client see it) while
 * the peer connections stay up. Install before the page connects.
 */
export async function routeSignalling(page: Page): Promise<SocketCut> {
  const live = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
  let refuseUntil = 0;
  let connections = 0;
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    if (Date.now() < refuseUntil) {
      void ws.close({ code: 1011, reason: 'test: network down' });
      return;
    }
    connections += 1;
    const pair = { page: ws, server: ws.connectToServer() };
    live.add(pair);
    ws.onClose(() => live.delete(pair));
  });
  return {
    async cutFor(ms: number) {
      refuseUntil = Date.now() + ms;
      for (const pair of [...live]) {
        live.delete(pair);
        await pair.server.close();
        await pair.page.close({ code: 1011, reason: 'test: network down' });
      }
    },
    get connections() {
      return connections;
    },
  };
}
