import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Welcome } from '../../shared/index';
import { createApp } from '../../server/app';
import { loadConfig } from '../../server/config';
import { createLogger } from '../../server/logger';
import { ensureSelfSignedCert, lanAddresses, resolveTls, serverUrls } from '../../server/tls';
import { spawnServer } from '../support/server-process';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-tls-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** GET over HTTPS trusting only `ca`: the certificate must also name `host`. */
function httpsGet(
  host: string,
  port: number,
  urlPath: string,
  ca: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path: urlPath, ca }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** A socket.io-client over wss that must get `welcome`. */
function wssWelcome(url: string, ca: string): Promise<{ welcome: Welcome; transport: string }> {
  const socket = ioClient(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
    ca,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no welcome over wss')), 5000);
    socket.on('connect_error', (err) => {
      clearTimeout(timer);
      socket.disconnect();
      reject(err);
    });
    socket.on('welcome', (welcome: Welcome) => {
      clearTimeout(timer);
      const transport = socket.io.engine.transport.name;
      socket.disconnect();
      resolve({ welcome, transport });
    });
  });
}

describe('self-signed certificate', () => {
  it('covers localhost and the LAN addresses, keeps the key private, and is reused', async () => {
    const dir = path.join(tempDir(), 'tls');
    const hosts = ['localhost', '127.0.0.1', '::1', '192.168.77.5'];
    const first = await ensureSelfSignedCert(dir, hosts);
    expect(first.source).toBe('generated');
    const cert = new X509Certificate(first.cert);
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('IP Address:192.168.77.5');
    expect(cert.checkIP('192.168.77.5')).toBe('192.168.77.5');
    expect(statSync(first.keyFile).mode & 0o777).toBe(0o600);

    const again = await ensureSelfSignedCert(dir, hosts);
    expect(again.source).toBe('self-signed');
    expect(again.cert).toBe(first.cert);

    // A new LAN address (another network) gets a new certificate.
    const moved = await ensureSelfSignedCert(dir, [...hosts, '10.20.30.40']);
    expect(moved.source).toBe('generated');
    expect(new X509Certificate(moved.cert).checkIP('10.20.30.40')).toBe('10.20.30.40');
  });

  it('lists LAN URLs only when listening on every address', () => {
    expect(serverUrls('https', '0.0.0.0', 8443, ['192.168.1.20', 'fd00::5'])).toEqual([
      'https://localhost:8443',
      'https://192.168.1.20:8443',
      'https://[fd00::5]:8443',
    ]);
    expect(serverUrls('http', '127.0.0.1', 8080, ['192.168.1.20'])).toEqual([
      'http://127.0.0.1:8080',
    ]);
    expect(lanAddresses()).not.toContain('127.0.0.1');
  });
});

describe('HTTPS and WSS on one port', () => {
  it.each(['SELF_SIGNED=1', 'TLS_CERT_FILE + TLS_KEY_FILE'])(
    'with %s: https /healthz and a wss socket get answers',
    async (mode) => {
      const dataDir = tempDir();
      let env: Record<string, string> = { SELF_SIGNED: '1', DATA_DIR: dataDir };
      if (mode !== 'SELF_SIGNED=1') {
        const made = await ensureSelfSignedCert(tempDir(), ['localhost', '127.0.0.1']);
        const certFile = path.join(dataDir, 'cert.pem');
        const keyFile = path.join(dataDir, 'key.pem');
        writeFileSync(certFile, made.cert);
        writeFileSync(keyFile, made.key);
        env = { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile };
      }
      const config = loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        CLIENT_DIR: tempDir(),
        ...env,
      });
      const tls = await resolveTls(config, { hosts: ['localhost', '127.0.0.1'] });
      expect(tls?.source).toBe(mode === 'SELF_SIGNED=1' ? 'generated' : 'files');
      const app = createApp({ config, logger: createLogger('silent'), tls: tls! });
      const { port } = await app.listen();
      try {
        expect(app.scheme).toBe('https');
        const health = await httpsGet('127.0.0.1', port, '/healthz', tls!.cert);
        expect(health.status).toBe(200);
        expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
        const { welcome, transport } = await wssWelcome(`https://127.0.0.1:${port}`, tls!.cert);
        expect(transport).toBe('websocket');
        expect(welcome.protocolVersion).toBeGreaterThan(0);
      } finally {
        await app.close();
      }
    },
  );

  it('`tsx server/index.ts --self-signed` serves HTTPS and prints its URLs', async () => {
    const dataDir = tempDir();
    const server = await spawnServer({ DATA_DIR: dataDir, HOST: '0.0.0.0' }, ['--self-signed']);
    try {
      expect(server.listening.url).toBe(`https://localhost:${server.port}`);
      const urls = server.listening.urls as string[];
      for (const ip of lanAddresses()) expect(urls.join(' ')).toContain(ip);
      const cert = readFileSync(path.join(dataDir, 'tls', 'self-signed-cert.pem'), 'utf8');
      const health = await httpsGet('localhost', server.port, '/healthz', cert);
      expect(health.status).toBe(200);
      expect(server.lines.join('\n')).toContain('accept the warning once');
    } finally {
      server.kill();
      await server.exited;
    }
  });
});
