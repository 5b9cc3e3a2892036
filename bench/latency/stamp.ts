/**
 * The sender's clock as a row of black/white blocks: 44 bits of integer milliseconds
 * (performance.timeOrigin + performance.now()) plus a 4-bit check, drawn as 2 rows × 24 big
 * blocks across the top of a 1280×720 frame so video compression cannot flip a bit.
 *
 * These functions are pure and self-contained on purpose: the page scripts receive them as
 * serialised source (`fn.toString()`), so they must not reference anything outside their body.
 */
export const STAMP_COLUMNS = 24;
export const STAMP_ROWS = 2;
export const STAMP_BITS = STAMP_COLUMNS * STAMP_ROWS;
/** Height of one block row as a share of the frame height (60 px of 720). */
export const STAMP_ROW_FRACTION = 60 / 720;

/** 48 bits, most significant first: 44 value bits, then the 4-bit nibble-sum check. */
export function encodeStamp(ms: number): number[] {
  const value = Math.max(0, Math.round(ms));
  const bits: number[] = [];
  let check = 0;
  for (let i = 43; i >= 0; i--) {
    bits.push(Math.floor(value / 2 ** i) % 2);
  }
  for (let nibble = 0; nibble < 11; nibble++) {
    check += Math.floor(value / 2 ** (nibble * 4)) % 16;
  }
  check %= 16;
  for (let i = 3; i >= 0; i--) bits.push((check >> i) & 1);
  return bits;
}

/** The stamped milliseconds, or null when the check fails (a torn or smeared frame). */
export function decodeStamp(bits: readonly number[]): number | null {
  if (bits.length !== 48) return null;
  let value = 0;
  for (let i = 0; i < 44; i++) value = value * 2 + (bits[i] ? 1 : 0);
  let check = 0;
  for (let i = 44; i < 48; i++) check = check * 2 + (bits[i] ? 1 : 0);
  let sum = 0;
  for (let nibble = 0; nibble < 11; nibble++) {
    sum += Math.floor(value / 2 ** (nibble * 4)) % 16;
  }
  return sum % 16 === check ? value : null;
}
