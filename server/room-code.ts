import { randomInt } from 'node:crypto';
import { ROOM_CODE_LENGTH, ROOM_CODE_PATTERN, type RoomCode } from '../shared/index';

const CODE_SPACE = 10 ** ROOM_CODE_LENGTH;

/** Uniform over 000000–999999 from the CSPRNG; zero-padded so leading zeros are allowed. */
export function generateRoomCode(random: (max: number) => number = randomInt): RoomCode {
  return String(random(CODE_SPACE)).padStart(ROOM_CODE_LENGTH, '0') as RoomCode;
}

export function isRoomCode(value: unknown): value is RoomCode {
  return typeof value === 'string' && ROOM_CODE_PATTERN.test(value);
}

/**
 * A code not used by any live room, or null after `maxAttempts` collisions (the caller answers
 * SERVER_BUSY). With 1e6 codes and the default 1e4-room cap a collision is ~1% per draw.
 */
export function allocateRoomCode(
  isTaken: (code: RoomCode) => boolean,
  maxAttempts = 32,
  random?: (max: number) => number,
): RoomCode | null {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const code = generateRoomCode(random);
    if (!isTaken(code)) return code;
  }
  return null;
}
