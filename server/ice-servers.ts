import type { IceServer } from '../shared/index';
import type { Config } from './config';
import { mintTurnCredential } from './turn-credentials';

function stunServers(config: Config): IceServer[] {
  return config.ice.stunUrls.length > 0 ? [{ urls: [...config.ice.stunUrls] }] : [];
}

/** TURN is on only when both the URLs and the secret are configured. */
export function turnStatus(config: Config): { enabled: boolean; reason: string | null } {
  if (config.turn.urls.length === 0) return { enabled: false, reason: 'TURN_URLS not set' };
  if (config.turn.secret === null) {
    return { enabled: false, reason: 'TURN_SECRET or TURN_SECRET_FILE not set' };
  }
  return { enabled: true, reason: null };
}

/**
 * For anyone who merely connected (`welcome`, anonymous GET /api/ice-servers): STUN only.
 * TURN credentials cost relay bandwidth, so they go only to sockets in a room.
 */
export function welcomeIceServers(config: Config): IceServer[] {
  return stunServers(config);
}

/**
 * For a socket that created, reclaimed or joined a room: STUN plus TURN with a fresh
 * TURN REST credential bound to its client id. Same shape as RTCIceServer.
 */
export function roomIceServers(config: Config, clientId: string, nowMs: number): IceServer[] {
  const servers = stunServers(config);
  const { urls, secret, ttlS } = config.turn;
  if (urls.length > 0 && secret !== null) {
    const { username, credential } = mintTurnCredential(secret, clientId, nowMs, ttlS);
    servers.push({ urls: [...urls], username, credential });
  }
  return servers;
}
