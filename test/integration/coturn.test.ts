import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config';
import { roomIceServers } from '../../server/ice-servers';
import { mintTurnCredential, turnPassword, turnUsername } from '../../server/turn-credentials';
import { startCoturn, turnserverPath, type Coturn } from '../support/coturn';

const turnserver = turnserverPath();
const uclient = turnserver && path.join(path.dirname(turnserver), 'turnutils_uclient');
const installed = uclient !== null && existsSync(uclient);
/** CI installs coturn (.ci/run): there a missing coturn fails these tests instead of skipping. */
const skip = !installed && !process.env.CI;
const TURN_DIR = path.resolve(import.meta.dirname, '..', '..', 'turn');
const PRODUCTION_CONF = path.join(TURN_DIR, 'turnserver.conf');
const START_SCRIPT = path.join(TURN_DIR, 'start-turn.sh');

interface UclientResult {
  code: number | null;
  output: string;
}

/**
 * One turnutils_uclient run against coturn on 127.0.0.1: allocate, then exchange one message.
 * `-y` relays between two of its own allocations (both peers are 127.0.0.1); `-e` names a peer.
 */
function runUclient(
  port: number,
  username: string,
  credential: string,
  flags: string[] = ['-y'],
  timeoutMs = 10_000,
): Promise<UclientResult> {
  const args = [...flags, '-u', username, '-w', credential, '-n', '1', '-m', '1', '-c'];
  args.push('-p', String(port), '127.0.0.1');
  return new Promise((resolve, reject) => {
    const child = spawn(uclient!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Messages the client got back through the relay, from uclient's summary line. */
function messagesReceived(output: string): number {
  const matches = [...output.matchAll(/tot_recv_msgs=(\d+)/g)];
  return matches.length === 0 ? 0 : Number(matches[matches.length - 1]![1]);
}

describe.skipIf(skip)('real coturn with turn/turnserver.test.conf', () => {
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn();
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  it('listens where its URLs say, on UDP and TCP', () => {
    expect(coturn.urls).toEqual([
      `turn:127.0.0.1:${coturn.port}?transport=udp`,
      `turn:127.0.0.1:${coturn.port}?transport=tcp`,
    ]);
    expect(coturn.logs()).toContain(`UDP listener opened on: 127.0.0.1:${coturn.port}`);
    expect(coturn.logs()).toContain(`TCP listener opened on : 127.0.0.1:${coturn.port}`);
  });

  it('accepts credentials minted by server/turn-credentials.ts and relays over UDP', async () => {
    const { username, credential } = mintTurnCredential(coturn.secret, 'udp-ok', Date.now(), 600);
    const result = await runUclient(coturn.port, username, credential);
    expect(result.code, result.output).toBe(0);
    expect(messagesReceived(result.output)).toBeGreaterThan(0);
    expect(coturn.acceptedUsers()).toContain(username);
  });

  it('accepts the iceServers entry a room member gets, over TCP', async () => {
    const config = loadConfig({ TURN_URLS: coturn.urls.join(','), TURN_SECRET: coturn.secret });
    const turn = roomIceServers(config, 'tcp-ok', Date.now()).find((s) => s.username);
    expect(turn?.urls).toEqual(coturn.urls);
    const result = await runUclient(coturn.port, turn!.username!, turn!.credential!, ['-t', '-y']);
    expect(result.code, result.output).toBe(0);
    expect(messagesReceived(result.output)).toBeGreaterThan(0);
    expect(coturn.acceptedUsers()).toContain(turn!.username);
  });

  it('rejects a credential made with the wrong secret', async () => {
    const { username } = mintTurnCredential(coturn.secret, 'wrong-secret', Date.now(), 600);
    const forged = turnPassword(`${coturn.secret}-not`, username);
    const result = await runUclient(coturn.port, username, forged);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Cannot complete Allocation');
    expect(messagesReceived(result.output)).toBe(0);
    expect(coturn.acceptedUsers()).not.toContain(username);
    expect(coturn.logs()).toContain(`user <${username}>`);
  });

  it('rejects an expired credential even with the right HMAC', async () => {
    const username = turnUsername(Math.floor(Date.now() / 1000) - 60, 'expired');
    const result = await runUclient(coturn.port, username, turnPassword(coturn.secret, username));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Cannot complete Allocation');
    expect(coturn.acceptedUsers()).not.toContain(username);
  });

  it('never prints the secret in its log', () => {
    expect(coturn.logs().length).toBeGreaterThan(1000);
    expect(coturn.logs()).not.toContain(coturn.secret);
  });
});

describe.skipIf(skip)('real coturn with the production turn/turnserver.conf', () => {
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn({
      configFile: PRODUCTION_CONF,
      extraArgs: ['--listening-ip', '127.0.0.1', '--relay-ip', '127.0.0.1', '--verbose'],
    });
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  it('parses every line of the template', () => {
    expect(coturn.logs()).not.toMatch(/Bad configuration format|Wrong address format/);
    expect(coturn.logs()).toContain('Default realm: turn.example.com');
    expect(coturn.logs()).not.toContain('allow_loopback_peers');
  });

  it('refuses loopback, private and special-purpose peers', async () => {
    const peers = [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254',
      '198.18.0.5',
      '0.1.2.3',
    ];
    // One user per peer: user-quota=12 would refuse 8 parallel clients of one user (486).
    const creds = peers.map((_, i) =>
      mintTurnCredential(coturn.secret, `prod${i}`, Date.now(), 600),
    );
    const results = await Promise.all(
      peers.map((peer, i) =>
        runUclient(coturn.port, creds[i]!.username, creds[i]!.credential, ['-e', peer]),
      ),
    );
    results.forEach((result, i) => {
      expect(result.code, `${peers[i]}: ${result.output}`).not.toBe(0);
      expect(result.output).toContain('403 (Forbidden IP)');
      // coturn refuses 0/8 and loopback itself before consulting the ranges; the rest is our list.
      if (!/^(0|127)\./.test(peers[i]!)) {
        expect(coturn.logs()).toContain(`A peer IP ${peers[i]} denied in the range`);
      }
      // The allocation itself succeeded: the refusal is about the peer, not the credential.
      expect(coturn.acceptedUsers()).toContain(creds[i]!.username);
    });
  });

  it('still lets a public peer through (no over-broad range)', async () => {
    const { username, credential } = mintTurnCredential(coturn.secret, 'public', Date.now(), 600);
    // TEST-NET addresses are denied too, so use a public one; one 100-byte datagram is sent.
    // uclient waits ~10 s for an echo that never comes, so stop it once the channel is bound.
    const result = await runUclient(coturn.port, username, credential, ['-e', '8.8.8.8'], 3000);
    expect(result.output).not.toContain('Forbidden');
    expect(coturn.logs()).toContain(
      `user <${username}>: incoming packet CHANNEL_BIND processed, success`,
    );
    expect(coturn.logs()).not.toContain('A peer IP 8.8.8.8 denied');
  });
});

describe.skipIf(skip)('turn/start-turn.sh', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-start-turn-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The script with a clean environment plus `env`; it must refuse before starting coturn. */
  function refuse(env: Record<string, string>): { code: number | null; stderr: string } {
    const result = spawnSync(START_SCRIPT, ['--version'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 5000,
    });
    return { code: result.status, stderr: result.stderr };
  }

  it('refuses to start without a usable secret, and never echoes it', () => {
    const file = path.join(dir, 'secret');
    writeFileSync(file, 'two words secret long\n');
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'TURN_SECRET or TURN_SECRET_FILE is required'],
      [{ TURN_SECRET: 'short-one' }, 'at least 16 characters'],
      [{ TURN_SECRET: 'x'.repeat(20), TURN_SECRET_FILE: file }, 'not both'],
      [{ TURN_SECRET_FILE: path.join(dir, 'missing') }, 'cannot read TURN_SECRET_FILE'],
      [{ TURN_SECRET_FILE: file }, 'must not contain whitespace'],
    ];
    for (const [env, message] of cases) {
      const { code, stderr } = refuse(env);
      expect(code, JSON.stringify(env)).toBe(2);
      expect(stderr).toContain(message);
      expect(stderr).not.toContain('short-one');
      expect(stderr).not.toContain('two words');
    }
  });

  it('starts coturn with the secret from TURN_SECRET_FILE; its credentials work', async () => {
    const secret = 'file-secret-0123456789abcdef';
    const file = path.join(dir, 'turn-secret');
    writeFileSync(file, `${secret}\n`);
    const port = 20_000 + Math.floor(Math.random() * 8_900);
    const minPort = 29_000 + Math.floor(Math.random() * 3_700);
    const child = spawn(
      START_SCRIPT,
      [
        '--verbose',
        '--listening-ip',
        '127.0.0.1',
        '--relay-ip',
        '127.0.0.1',
        '--listening-port',
        String(port),
        '--min-port',
        String(minPort),
        '--max-port',
        String(minPort + 20),
        '--pidfile',
        path.join(dir, 'pid'),
        '--userdb',
        path.join(dir, 'turndb'),
      ],
      {
        env: { PATH: process.env.PATH ?? '', TURN_SECRET_FILE: file, TURN_REALM: 'start.test' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const gone = new Promise((resolve) => child.once('exit', resolve));
    try {
      await expect
        .poll(() => log, { timeout: 10_000 })
        .toContain(`TCP listener opened on : 127.0.0.1:${port}`);
      expect(log).toContain('Default realm: start.test');
      // The template's peer rules apply, so relay to a public peer and watch the channel bind.
      const good = mintTurnCredential(secret, 'script-ok', Date.now(), 600);
      await runUclient(port, good.username, good.credential, ['-e', '8.8.8.8'], 3000);
      expect(log).toContain(`user <${good.username}>: incoming packet ALLOCATE processed, success`);
      const bad = mintTurnCredential(`${secret}x`, 'script-bad', Date.now(), 600);
      const refused = await runUclient(port, bad.username, bad.credential, ['-e', '8.8.8.8']);
      expect(refused.output).toContain('Cannot complete Allocation');
      expect(log).not.toContain(secret);
    } finally {
      child.kill('SIGTERM');
      await gone;
    }
  });
});

if (skip) {
  describe('real coturn', () => {
    it.skip('skipped: turnserver/turnutils_uclient not installed (apt-get install coturn)', () => {});
  });
}
