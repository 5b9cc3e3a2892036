import type { PeerStatsDigest } from '../../../shared';
import type { LadderSnapshot } from './connection-ladder';
import { translate, type Locale, type MessageKey, type MessageParams } from './i18n.svelte';
import { en } from './locales/en';

/**
 * Why a viewer is on its path, in plain words. The reason is data (an i18n key plus params);
 * the viewer shows it in its own language and reports the English text as the digest's
 * `pathReason`, which the broadcaster's panel maps back to its own language.
 */
export interface PathReason {
  key: MessageKey;
  params?: MessageParams;
}

/** Keys whose English text may travel as a digest's pathReason. */
export const PATH_REASON_KEYS = [
  'reason.turnTcp',
  'reason.turnTls',
  'reason.turnUdp',
  'reason.turnForced',
  'reason.relayForced',
  'reason.relayBroadcaster',
  'reason.relayFallback',
  'reason.relayCodec',
  'reason.noPathCodec',
  'reason.relayOverflow',
  'reason.relaySaturated',
  'reason.noPath',
  'reason.relayUnavailable',
  'reason.relayUnplayable',
  'reason.noPathUnplayable',
  'reason.hlsChosen',
  'reason.hlsRelayOff',
  'reason.hlsRelayUnplayable',
  'reason.sfuForced',
  'reason.sfuOverflow',
  'reason.sfuSaturated',
  'reason.relaySfuCodec',
  'reason.relaySfuFailed',
  'reason.sfuFailedDirect',
] as const satisfies readonly MessageKey[];

export type PathReasonKey = (typeof PATH_REASON_KEYS)[number];

function protocolName(protocol: string | null): string {
  return (protocol ?? 'udp').toUpperCase();
}

/**
 * The reason for the ACTIVE path. `digest` is the active path's digest (WebRTC inbound or
 * the relay player's). Direct paths have no reason: nothing fell back.
 */
export function pathReasonFor(
  ladder: Pick<
    LadderSnapshot,
    'active' | 'override' | 'relayReason' | 'noPath' | 'mediaTimeoutMs'
  > &
    Partial<
      Pick<
        LadderSnapshot,
        | 'broadcasterRelayOnly'
        | 'hlsCause'
        | 'relayPlayable'
        | 'relayAvailable'
        | 'sfuReason'
        | 'sfuFailure'
        | 'webRtcUndecodable'
      >
    >,
  digest: Pick<PeerStatsDigest, 'path' | 'candidateType' | 'protocol'> | null,
): PathReason | null {
  const seconds = Math.round(ladder.mediaTimeoutMs / 1000);
  if (ladder.active === 'hls') {
    switch (ladder.hlsCause) {
      case 'chosen':
        return { key: 'reason.hlsChosen' };
      case 'relay-unplayable':
        return { key: 'reason.hlsRelayUnplayable' };
      default:
        return { key: 'reason.hlsRelayOff', params: { seconds } };
    }
  }
  if (ladder.active === 'sfu') {
    if (ladder.sfuReason === 'overflow') return { key: 'reason.sfuOverflow' };
    if (ladder.sfuReason === 'uplink_saturated') return { key: 'reason.sfuSaturated' };
    return { key: 'reason.sfuForced' };
  }
  const sfuFailure = ladder.sfuFailure ?? null;
  if (ladder.active === 'relay' && sfuFailure && ladder.relayPlayable !== false) {
    return sfuFailure.kind === 'codec'
      ? { key: 'reason.relaySfuCodec', params: { codec: sfuFailure.codec ?? 'this codec' } }
      : { key: 'reason.relaySfuFailed' };
  }
  if (ladder.active === 'webrtc' && sfuFailure && !ladder.noPath) {
    return { key: 'reason.sfuFailedDirect' };
  }
  if (ladder.active === 'relay' && ladder.relayPlayable === false) {
    return { key: 'reason.relayUnplayable' };
  }
  if (ladder.active === 'relay' && ladder.webRtcUndecodable && ladder.relayReason === 'fallback') {
    return { key: 'reason.relayCodec', params: { codec: ladder.webRtcUndecodable } };
  }
  if (ladder.active === 'relay') {
    switch (ladder.relayReason) {
      case 'forced':
        // The server says `forced` for the broadcaster's relay-only choice and for our ?path=relay.
        return ladder.broadcasterRelayOnly
          ? { key: 'reason.relayBroadcaster' }
          : { key: 'reason.relayForced' };
      case 'overflow':
        return { key: 'reason.relayOverflow' };
      case 'uplink_saturated':
        return { key: 'reason.relaySaturated' };
      default:
        return { key: 'reason.relayFallback', params: { seconds } };
    }
  }
  if (ladder.noPath && ladder.relayPlayable === false && ladder.relayAvailable) {
    return { key: 'reason.noPathUnplayable', params: { seconds } };
  }
  if (ladder.noPath && ladder.webRtcUndecodable) {
    return { key: 'reason.noPathCodec', params: { codec: ladder.webRtcUndecodable } };
  }
  if (ladder.noPath) {
    return ladder.override === 'relay'
      ? { key: 'reason.relayUnavailable' }
      : { key: 'reason.noPath', params: { seconds } };
  }
  if (!digest || digest.path !== 'turn') return null;
  const protocol = protocolName(digest.candidateType === 'relay' ? digest.protocol : 'udp');
  if (ladder.override === 'turn') return { key: 'reason.turnForced', params: { protocol } };
  if (protocol === 'TCP') return { key: 'reason.turnTcp' };
  if (protocol === 'TLS') return { key: 'reason.turnTls' };
  return { key: 'reason.turnUdp' };
}

/** The English sentence that goes on the wire as `pathReason` (≤ 160 chars by schema). */
export function pathReasonText(reason: PathReason | null): string | null {
  if (!reason) return null;
  return translate('en', reason.key, reason.params).slice(0, 160);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** English templates as regexes: "No WebRTC media after {seconds} s" → /^No WebRTC media after (?<seconds>.+?) s$/. */
const REASON_PATTERNS: ReadonlyArray<{ key: PathReasonKey; re: RegExp }> = PATH_REASON_KEYS.map(
  (key) => {
    const parts = en[key].split(/(\{\w+\})/);
    const source = parts
      .map((part) => {
        const name = /^\{(\w+)\}$/.exec(part)?.[1];
        return name ? `(?<${name}>.+?)` : escapeRegExp(part);
      })
      .join('');
    return { key, re: new RegExp(`^${source}$`) };
  },
);

/** Maps a reported English pathReason back to a key; null when it is not one of ours. */
export function parsePathReason(text: string | null | undefined): PathReason | null {
  if (!text) return null;
  for (const { key, re } of REASON_PATTERNS) {
    const match = re.exec(text);
    if (match) return { key, params: { ...match.groups } };
  }
  return null;
}

/** A reported pathReason in `locale`; unknown text is shown as sent. */
export function localizePathReason(text: string | null | undefined, locale: Locale): string | null {
  if (!text) return null;
  const reason = parsePathReason(text);
  return reason ? translate(locale, reason.key, reason.params) : text;
}
