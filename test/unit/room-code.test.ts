import { describe, expect, it } from 'vitest';
import { allocateRoomCode, generateRoomCode, isRoomCode } from '../../server/room-code';

describe('room codes', () => {
  it('are exactly six digits, leading zeros kept', () => {
    for (let i = 0; i < 1000; i++) expect(generateRoomCode()).toMatch(/^\d{6}$/);
    expect(generateRoomCode(() => 42)).toBe('000042');
  });

  it('spread evenly over the leading digit in 1e5 draws', () => {
    const counts = new Array<number>(10).fill(0);
    const draws = 100_000;
    for (let i = 0; i < draws; i++) counts[Number(generateRoomCode()[0])]! += 1;
    for (const count of counts) {
      expect(count / draws).toBeGreaterThan(0.08);
      expect(count / draws).toBeLessThan(0.12);
    }
  });

  it('skip codes used by live rooms', () => {
    const sequence = [1, 1, 2];
    const taken = new Set(['000001']);
    const code = allocateRoomCode(
      (c) => taken.has(c),
      5,
      () => sequence.shift() ?? 3,
    );
    expect(code).toBe('000002');
  });

  it('give up after bounded attempts when everything collides', () => {
    let calls = 0;
    const code = allocateRoomCode(
      () => true,
      7,
      () => calls++,
    );
    expect(code).toBeNull();
    expect(calls).toBe(7);
  });

  it('isRoomCode accepts only 6-digit strings', () => {
    expect(isRoomCode('123456')).toBe(true);
    for (const bad of ['12345', '1234567', 'abcdef', 123456, null, ' 123456']) {
      expect(isRoomCode(bad)).toBe(false);
    }
  });
});
