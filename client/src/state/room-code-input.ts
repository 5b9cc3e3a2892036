import { ROOM_CODE_PATTERN, type RoomCode } from '../../../shared/index';

/**
 * Turns what a person typed or pasted into a room code, or null. Accepts "123456",
 * "123 456", "123-456" and any text holding a watch link such as
 * "https://host/watch/123456?x". Anything else (5 or 7 digits, letters) is refused.
 */
export function parseRoomCode(input: string): RoomCode | null {
  const trimmed = input.trim();
  const fromLink = /\/watch\/(\d{6})(?!\d)/.exec(trimmed);
  if (fromLink?.[1]) return fromLink[1] as RoomCode;
  const compact = trimmed.replace(/[\s-]/g, '');
  return ROOM_CODE_PATTERN.test(compact) ? (compact as RoomCode) : null;
}

/** What the input box should show after a paste: the code when one was found, else the raw text. */
export function normalizePastedRoomCode(pasted: string): string {
  return parseRoomCode(pasted) ?? pasted.trim();
}
