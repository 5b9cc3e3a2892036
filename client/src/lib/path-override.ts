/**
 * The `?path=` URL override for users and tests: `auto` (default) lets the ladder pick,
 * `turn` forces TURN (`iceTransportPolicy: 'relay'`, the "hide my IP address" toggle),
 * `relay` uses the WebSocket relay only, and `sfu` WebRTC through the server's SFU (viewers).
 */
export const PATH_OVERRIDES = ['auto', 'turn', 'relay', 'sfu'] as const;
export type PathOverride = (typeof PATH_OVERRIDES)[number];

export function isPathOverride(value: unknown): value is PathOverride {
  return typeof value === 'string' && (PATH_OVERRIDES as readonly string[]).includes(value);
}

/** Reads `path` from a query string (`?path=turn`, with or without the `?`). Unknown → auto. */
export function parsePathOverride(search: string | null | undefined): PathOverride {
  if (!search) return 'auto';
  const value = new URLSearchParams(search).get('path')?.trim().toLowerCase();
  return isPathOverride(value) ? value : 'auto';
}

/** The ICE transport policy an override asks for: only `turn` restricts ICE to relay candidates. */
export function iceTransportPolicyFor(override: PathOverride): RTCIceTransportPolicy {
  return override === 'turn' ? 'relay' : 'all';
}

/** The query string with `path` set (auto removes it), keeping every other parameter. */
export function withPathOverride(search: string, override: PathOverride): string {
  const params = new URLSearchParams(search);
  if (override === 'auto') params.delete('path');
  else params.set('path', override);
  const out = params.toString();
  return out ? `?${out}` : '';
}
