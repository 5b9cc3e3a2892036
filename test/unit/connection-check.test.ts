import { describe, expect, it } from 'vitest';
import {
  fetchRelayFeature,
  relayCheckResult,
  relayFeatureOf,
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

  it('does not call WebRTC blocked when no STUN or TURN server is configured', () => {
    const untested = (name: CheckResult['name'], key: string): CheckResult => ({
      name,
      status: 'warn',
      message: { key } as CheckResult['message'],
    });
    const results = [
      r('signalling', 'ok'),
      r('host', 'ok'),
      untested('stun', 'check.stun.none'),
      untested('loopback', 'check.loopback.notConfigured'),
      r('relay', 'ok'),
    ];
    expect(summarizeChecks(results)).toBe('check.summary.lanOnly');
    // A configured TURN server that fails is a real finding, not "untested".
    results[3] = r('loopback', 'fail');
    expect(summarizeChecks(results)).toBe('check.summary.relayOnly');
  });

  it('counts a failed relay when neither WebRTC path works', () => {
    expect(
      summarizeChecks([
        r('signalling', 'ok'),
        r('stun', 'warn'),
        r('loopback', 'fail'),
        r('relay', 'fail'),
      ]),
    ).toBe('check.summary.bad');
  });
});

describe('the server relay check', () => {
  const on = { status: 'ok', features: { relay: { enabled: true, reason: null } } };
  const off = {
    status: 'ok',
    features: { relay: { enabled: false, reason: 'RELAY_ENABLED is false' } },
  };

  it('reads features.relay from /healthz', async () => {
    expect(relayFeatureOf(on)).toEqual({ enabled: true, reason: null });
    expect(relayFeatureOf(off)).toEqual({ enabled: false, reason: 'RELAY_ENABLED is false' });
    expect(relayFeatureOf({ status: 'ok' })).toBeNull();
    expect(relayFeatureOf(null)).toBeNull();
    expect(await fetchRelayFeature(async () => off)).toEqual({
      enabled: false,
      reason: 'RELAY_ENABLED is false',
    });
    expect(
      await fetchRelayFeature(async () => {
        throw new Error('offline');
      }),
    ).toBeNull();
  });

  it('is ok only when the server has the relay on and the socket is connected', () => {
    expect(relayCheckResult(true, relayFeatureOf(on), 'websocket')).toEqual({
      name: 'relay',
      status: 'ok',
      message: { key: 'check.relay.ok', params: { transport: 'websocket' } },
    });
    expect(relayCheckResult(false, relayFeatureOf(on), 'websocket')).toMatchObject({
      status: 'fail',
      message: { key: 'check.relay.fail' },
    });
  });

  it("fails with the server's reason when the relay is switched off, even if connected", () => {
    expect(relayCheckResult(true, relayFeatureOf(off), 'websocket')).toEqual({
      name: 'relay',
      status: 'fail',
      message: { key: 'check.relay.disabled', params: { reason: 'RELAY_ENABLED is false' } },
    });
  });

  it('warns when /healthz cannot be read', () => {
    expect(relayCheckResult(true, null, 'websocket')).toMatchObject({
      status: 'warn',
      message: { key: 'check.relay.unknown' },
    });
  });
});
