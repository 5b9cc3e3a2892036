import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers';

describe('Socket.IO long-polling (the fallback when WebSockets are blocked)', () => {
  let t: TestServer;
  let socket: Socket | undefined;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(async () => {
    socket?.disconnect();
    await t.close();
  });

  it('polls without Express answering the same request, and can create a room', async () => {
    socket = ioClient(t.url, { transports: ['polling'], reconnection: false, forceNew: true });
    const welcome = await new Promise<{ clientId: string }>((resolve, reject) => {
      socket!.once('welcome', resolve);
      socket!.once('connect_error', reject);
    });
    expect(welcome.clientId).toBe(socket.id);
    expect(socket.io.engine.transport.name).toBe('polling');
    const created = await socket.timeout(3000).emitWithAck('create_room', {});
    expect(created).toMatchObject({ ok: true, data: { roomId: expect.stringMatching(/^\d{6}$/) } });
  });
});
