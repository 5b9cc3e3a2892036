/**
 * The closed set of machine-readable error codes. `message` beside a code is for humans
 * and may change; clients branch on `code` only.
 */
export const ERROR_CODES = [
  'INVALID_PAYLOAD',
  'ROOM_NOT_FOUND',
  'ROOM_FULL',
  'NOT_BROADCASTER',
  'NOT_IN_ROOM',
  'ALREADY_IN_ROOM',
  'PEER_NOT_FOUND',
  'RATE_LIMITED',
  'UNAUTHORIZED',
  'SERVER_BUSY',
  'INTERNAL_ERROR',
  'CODEC_UNSUPPORTED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const ERROR_MESSAGES: Record<ErrorCode, string> = {
  INVALID_PAYLOAD: 'The request was malformed.',
  ROOM_NOT_FOUND: 'No live room has that number.',
  ROOM_FULL: 'This room has reached its viewer limit.',
  NOT_BROADCASTER: 'Only the broadcaster of this room can do that.',
  NOT_IN_ROOM: 'Join a room first.',
  ALREADY_IN_ROOM: 'Leave the current room first.',
  PEER_NOT_FOUND: 'That peer is not in your room.',
  RATE_LIMITED: 'Too many requests; slow down and try again shortly.',
  UNAUTHORIZED: 'Not allowed.',
  SERVER_BUSY: 'The server is at capacity; try again later.',
  INTERNAL_ERROR: 'Something went wrong on the server.',
  CODEC_UNSUPPORTED: "This browser cannot receive the room's video codec over WebRTC.",
};

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

/** Every acknowledged request resolves to one of these. */
export type AckResult<T> = { ok: true; data: T } | { ok: false; error: ProtocolError };

export function ackOk<T>(data: T): AckResult<T> {
  return { ok: true, data };
}

export function ackError(
  code: ErrorCode,
  message: string = ERROR_MESSAGES[code],
): AckResult<never> {
  return { ok: false, error: { code, message } };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
