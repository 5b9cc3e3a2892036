import { describe, expect, it } from 'vitest';
import { logThrottle, redactRedisUrl } from '../../server/cluster/redis-client';

describe('Redis URLs in logs', () => {
  it('hides the password and keeps where it points', () => {
    expect(redactRedisUrl('redis://:s3cret@redis.internal:6380/2')).toBe(
      'redis://:***@redis.internal:6380/2',
    );
    expect(redactRedisUrl('rediss://app:p%40ss@10.0.0.5:6379')).toBe(
      'rediss://app:***@10.0.0.5:6379',
    );
  });

  it('leaves a URL without a password as it is', () => {
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactRedisUrl('redis://app@127.0.0.1:6379/0')).toBe('redis://app@127.0.0.1:6379/0');
  });

  it('drops query strings and never echoes something that is not a URL', () => {
    const redacted = redactRedisUrl('redis://127.0.0.1:6379/0?password=hunter2');
    expect(redacted).not.toContain('hunter2');
    expect(redactRedisUrl('hunter2')).not.toContain('hunter2');
    expect(redactRedisUrl('')).toBe('[unparseable redis url]');
  });
});

describe('log throttle', () => {
  it('lets one call through per interval and counts the skipped ones', () => {
    let now = 0;
    const throttle = logThrottle(10_000, () => now);
    expect(throttle.take()).toBe(0);
    now = 5_000;
    expect(throttle.take()).toBeNull();
    expect(throttle.take()).toBeNull();
    now = 10_000;
    expect(throttle.take()).toBe(2);
    now = 19_999;
    expect(throttle.take()).toBeNull();
  });
});
