import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbuseLimits, clientIp, ipKey } from '../../server/abuse-limits';

const LIMITS = { failedJoinsPerMin: 3, createRoomsPerMin: 2, apiRequestsPerMin: 2 };

describe('client address for limits', () => {
  it('uses the socket address unless TRUST_PROXY is set', () => {
    expect(clientIp('10.0.0.5', '1.2.3.4', 0)).toBe('10.0.0.5');
    expect(clientIp('::ffff:10.0.0.5', undefined, 0)).toBe('10.0.0.5');
  });

  it('with TRUST_PROXY takes the entry the trusted proxy added, not what the client wrote', () => {
    expect(clientIp('127.0.0.1', 'spoofed, 203.0.113.9', 1)).toBe('203.0.113.9');
    expect(clientIp('127.0.0.1', 'spoofed, 203.0.113.9, 10.0.0.2', 2)).toBe('203.0.113.9');
    expect(clientIp('127.0.0.1', ['198.51.100.1', '203.0.113.9'], 1)).toBe('203.0.113.9');
    expect(clientIp('127.0.0.1', undefined, 1)).toBe('127.0.0.1');
  });

  it('keys IPv6 by its /64', () => {
    expect(ipKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(ipKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipKey('192.0.2.1')).toBe('192.0.2.1');
  });
});

describe('AbuseLimits', () => {
  afterEach(() => vi.useRealTimers());

  it('blocks an address after its failed joins, and only that address', async () => {
    const limits = new AbuseLimits(LIMITS);
    for (let i = 0; i < 3; i++) {
      expect(await limits.joinBlockedFor('a')).toBeNull();
      await limits.recordFailedJoin('a');
    }
    expect(await limits.joinBlockedFor('a')).toBe(60);
    expect(await limits.joinBlockedFor('b')).toBeNull();
  });

  it('doubles the block each time the limit is reached again', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const limits = new AbuseLimits(LIMITS);
    const trip = async () => {
      for (let i = 0; i < 3; i++) await limits.recordFailedJoin('a');
      return limits.joinBlockedFor('a');
    };
    expect(await trip()).toBe(60);
    vi.advanceTimersByTime(61_000);
    expect(await limits.joinBlockedFor('a')).toBeNull();
    expect(await trip()).toBe(120);
    vi.advanceTimersByTime(121_000);
    expect(await trip()).toBe(240);
  });

  it('limits room creation and REST calls per address with a retry time', async () => {
    const limits = new AbuseLimits(LIMITS);
    expect(await limits.tryCreateRoom('a')).toBeNull();
    expect(await limits.tryCreateRoom('a')).toBeNull();
    expect(await limits.tryCreateRoom('a')).toBeGreaterThan(0);
    expect(await limits.tryCreateRoom('b')).toBeNull();
    expect(await limits.tryApiRequest('a')).toBeNull();
    expect(await limits.tryApiRequest('a')).toBeNull();
    expect(await limits.tryApiRequest('a')).toBeLessThanOrEqual(60);
  });
});
