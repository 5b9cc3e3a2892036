import { describe, expect, it } from 'vitest';
import { normalizePastedRoomCode, parseRoomCode } from '../../client/src/state/room-code-input';

describe('parseRoomCode', () => {
  it.each([
    ['123456', '123456'],
    [' 123456 ', '123456'],
    ['123 456', '123456'],
    ['123-456', '123456'],
    ['https://roomcast.example/watch/654321', '654321'],
    ['http://localhost:8080/watch/000123?utm=x#top', '000123'],
    ['Join me: https://a.b/watch/111222 now', '111222'],
  ])('accepts %j', (input, code) => {
    expect(parseRoomCode(input)).toBe(code);
  });

  it.each(['', '12345', '1234567', '12a456', 'abcdef', '١٢٣٤٥٦', 'https://a.b/watch/1234567'])(
    'refuses %j',
    (input) => {
      expect(parseRoomCode(input)).toBeNull();
    },
  );
});

describe('normalizePastedRoomCode', () => {
  it('turns a pasted code or link into the digits, and keeps anything else for the error', () => {
    expect(normalizePastedRoomCode('123 456')).toBe('123456');
    expect(normalizePastedRoomCode('https://x.y/watch/999888')).toBe('999888');
    expect(normalizePastedRoomCode('  hello ')).toBe('hello');
  });
});
