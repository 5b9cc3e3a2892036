import { describe, expect, it } from 'vitest';
import {
  splitIceServers,
  summarizeChecks,
  turnTransportOf,
  type CheckResult,
} from '../../client/src/lib/connection-check';

describe('connection check helpers', () => {
  it('tells the TURN transport from the URL', () => {
    expect(turnTransportOf('turn:1.2.3.4:3478')).toBe('udp');
    expect(turnTransportOf('turn:1.2.3.4:3478?transport=udp')).toBe('udp');
    expect(turnTransportOf('TURN:h:3478?transport=tcp')).toBe('tcp');
    expect(turnTransportOf('turns:h:5349?transport=tcp')).toBe('tls');
    expect(turnTransportOf('stun:h:3478')).toBeNull();
  });

  it('splits room ICE servers into STUN URLs and one TURN server per URL', () => {
    const { stun, turn } = splitIceServers([
      { urls: ['stun:s:3478'] },
      {
        urls: ['turn:t:3478?transport=udp', 'turn:t:3478?transport=tcp', 'turns:t:5349'],
        username: '123:abc',
        credential: 'secret-hmac',
      },
    ]);
    expect(stun).toEqual(['stun:s:3478']);
    expect(turn.map((s) => [s.transport, s.url, s.username])).toEqual([
      ['udp', 'turn:t:3478?transport=udp', '123:abc'],
      ['tcp', 'turn:t:3478?transport=tcp', '123:abc'],
      ['tls', 'turns:t:5349', '123:abc'],
    ]);
    expect(turn.every((s) => s.credential === 'secret-hmac')).toBe(true);
  });

  const r = (name: CheckResult['name'], status: CheckResult['status']): CheckResult => ({
    name,
    status,
    message: { key: 'check.run' },
  });

  it('summarizes what works in one sentence', () => {
    expect(summarizeChecks([r('signalling', 'fail')])).toBe('check.summary.bad');
    expect(summarizeChecks([r('signalling', 'ok'), r('stun', 'ok'), r('loopback', 'ok')])).toBe(
      'check.summary.good',
    );
    expect(summarizeChecks([r('signalling', 'ok'), r('stun', 'warn'), r('loopback', 'ok')])).toBe(
      'check.summary.turnOnly',
    );
    expect(summarizeChecks([r('signalling', 'ok'), r('stun', 'ok'), r('loopback', 'fail')])).toBe(
      'check.summary.directOnly',
    );
    expect(summarizeChecks([r('signalling', 'ok'), r('stun', 'warn'), r('loopback', 'fail')])).toBe(
      'check.summary.relayOnly',
    );
  });
});
