/**
 * The practical limit for the relay benchmark: a tiny `ws` server that forwards every binary
 * message from the publisher (`/?role=publisher`) to every other connected client, untouched,
 * with no backlog policy at all. Run as its own process: `node --import tsx raw-ws-server.ts`;
 * it prints one JSON line `{"listening":<port>}` on stdout.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
const viewers = new Set<WebSocket>();

wss.on('connection', (socket, request) => {
  const role = new URL(request.url ?? '/', 'http://localhost').searchParams.get('role');
  if (role === 'publisher') {
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return;
      for (const viewer of viewers) {
        if (viewer.readyState === viewer.OPEN) viewer.send(data, { binary: true });
      }
    });
    return;
  }
  viewers.add(socket);
  socket.on('close', () => viewers.delete(socket));
  socket.on('error', () => viewers.delete(socket));
});

wss.on('listening', () => {
  const address = wss.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ listening: bound })}\n`);
});

const stop = () => {
  for (const client of wss.clients) client.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
