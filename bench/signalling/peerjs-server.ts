/**
 * The PeerJS baseline as its own process (so its RSS and CPU are measured apart from the load
 * generator). Prints one JSON line `{"msg":"listening","port":n}` once it accepts connections.
 */
import type { AddressInfo } from 'node:net';
import { PeerServer } from 'peer';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const peerServer = PeerServer(
  {
    port,
    host,
    path: '/',
    key: 'peerjs',
    // The default cap is 5000 peers; the benchmark needs more.
    concurrent_limit: 1_000_000,
  },
  (server) => {
    const address = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ msg: 'listening', port: address.port })}\n`);
  },
);

// Socket errors from clients being torn down are expected at the end of a run.
peerServer.on('error', () => {});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
