import type { IceServer } from '../shared/index';
import type { Config } from './config';

/**
 * ICE servers for one client. STUN only for now; TURN (next issue) will mint per-client
 * TURN REST credentials here, which is why it takes the client id.
 */
export function iceServersFor(config: Config, _clientId: string): IceServer[] {
  return config.ice.stunUrls.length > 0 ? [{ urls: [...config.ice.stunUrls] }] : [];
}
