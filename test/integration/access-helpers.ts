import { io as ioClient, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import type { Welcome } from '../../shared/index';
import { waitFor, type TestSocket } from './helpers';

const opened = new Set<TestSocket>();

/**
 * A client from a chosen loopback source address (127.0.0.2, …: all of 127/8 is local on
 * Linux), so per-IP limits see distinct clients without trusting X-Forwarded-For.
 */
export async function connectFrom(
  url: string,
  options: {
    localAddress?: string;
    auth?: Record<string, unknown>;
    extraHeaders?: Record<string, string>;
  } = {},
): Promise<TestSocket & { welcome: Welcome }> {
  const socket = ioClient(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
    auth: options.auth,
    extraHeaders: options.extraHeaders,
    // engine.io-client hands localAddress to the ws socket in Node.
    localAddress: options.localAddress,
  } as Partial<ManagerOptions & SocketOptions>) as TestSocket;
  opened.add(socket);
  const welcome = await waitFor(socket, 'welcome');
  return Object.assign(socket, { welcome });
}

/** Resolves with the connect_error message (the handshake was refused). */
export function connectRefused(url: string, extraHeaders: Record<string, string>) {
  const socket = ioClient(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
    extraHeaders,
  }) as TestSocket;
  opened.add(socket);
  return new Promise<'refused' | 'connected'>((resolve) => {
    socket.once('connect_error', () => resolve('refused'));
    socket.once('connect', () => resolve('connected'));
  });
}

export function closeAccessClients(): void {
  for (const socket of opened) socket.disconnect();
  opened.clear();
}
