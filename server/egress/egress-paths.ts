import { resolve, sep } from 'node:path';
import { ROOM_CODE_PATTERN } from '../../shared/index';

/** The only names the HLS mirror serves: its playlist and its numbered MPEG-TS segments. */
const HLS_FILE = /^(index\.m3u8|seg-\d{1,10}\.ts)$/;
/** `<room>-<UTC stamp>[-<part>].mkv`, as RecordingWriter names them. */
export const RECORDING_FILE = /^(\d{6})-(\d{8}T\d{6}Z)(?:-(\d{1,4}))?\.mkv$/;

/** `child` resolved under `root`, or null when it would escape it. */
export function within(root: string, ...parts: string[]): string | null {
  const base = resolve(root);
  const full = resolve(base, ...parts);
  return full.startsWith(base + sep) ? full : null;
}

/** A room's HLS directory, from a validated 6-digit code only. */
export function hlsRoomDir(root: string, roomId: string): string | null {
  if (!ROOM_CODE_PATTERN.test(roomId)) return null;
  return within(root, roomId);
}

export type HlsFileKind = 'playlist' | 'segment';

/** Validates `/hls/<room>/<file>`; anything else (traversal, junk, other names) is null. */
export function hlsFilePath(
  root: string,
  roomId: string,
  file: string,
): { path: string; kind: HlsFileKind } | null {
  if (!ROOM_CODE_PATTERN.test(roomId) || !HLS_FILE.test(file)) return null;
  const path = within(root, roomId, file);
  if (!path) return null;
  return { path, kind: file === 'index.m3u8' ? 'playlist' : 'segment' };
}

export function recordingPath(root: string, name: string): string | null {
  if (!RECORDING_FILE.test(name)) return null;
  return within(root, name);
}
