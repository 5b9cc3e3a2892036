import { describe, expect, it } from 'vitest';
import type { LadderSnapshot } from '../../client/src/lib/connection-ladder';
import {
  PATH_REASON_KEYS,
  localizePathReason,
  parsePathReason,
  pathReasonFor,
  pathReasonText,
} from '../../client/src/lib/path-reason';
import { translate } from '../../client/src/lib/i18n.svelte';

type Ladder = Pick<
  LadderSnapshot,
  'active' | 'override' | 'relayReason' | 'noPath' | 'mediaTimeoutMs'
>;
const WEBRTC: Ladder = {
  active: 'webrtc',
  override: 'auto',
  relayReason: null,
  noPath: false,
  mediaTimeoutMs: 8000,
};
const RELAY: Ladder = { ...WEBRTC, active: 'relay' };

function digest(path: 'direct' | 'turn' | 'relay', candidateType: string, protocol: string) {
  return { path, candidateType, protocol };
}

function text(ladder: Ladder, d: ReturnType<typeof digest> | null) {
  return pathReasonText(pathReasonFor(ladder, d));
}

describe('path reason', () => {
  it('a direct path needs no reason', () => {
    expect(text(WEBRTC, digest('direct', 'host', 'udp'))).toBeNull();
    expect(text(WEBRTC, digest('direct', 'srflx', 'udp'))).toBeNull();
    expect(text(WEBRTC, null)).toBeNull();
  });

  it('names the TURN transport from the local relay candidate', () => {
    expect(text(WEBRTC, digest('turn', 'relay', 'tcp'))).toBe('UDP blocked; using TURN over TCP');
    expect(text(WEBRTC, digest('turn', 'relay', 'tls'))).toBe('UDP blocked; using TURN over TLS');
    expect(text(WEBRTC, digest('turn', 'relay', 'udp'))).toBe(
      'Direct connection failed; using TURN over UDP',
    );
    // Only the far side is relayed: our own leg is UDP.
    expect(text(WEBRTC, digest('turn', 'host', 'udp'))).toBe(
      'Direct connection failed; using TURN over UDP',
    );
  });

  it('says TURN was chosen to hide the IP when forced', () => {
    expect(text({ ...WEBRTC, override: 'turn' }, digest('turn', 'relay', 'tcp'))).toBe(
      'Hiding your IP address; using TURN over TCP',
    );
  });

  it('explains each relay reason', () => {
    expect(text({ ...RELAY, relayReason: 'fallback' }, null)).toBe(
      'No WebRTC media after 8 s; using the server relay',
    );
    expect(text({ ...RELAY, relayReason: 'fallback', mediaTimeoutMs: 3000 }, null)).toBe(
      'No WebRTC media after 3 s; using the server relay',
    );
    expect(text({ ...RELAY, relayReason: 'forced' }, null)).toBe('Relay forced by ?path=relay');
    expect(
      pathReasonText(
        pathReasonFor({ ...RELAY, relayReason: 'forced', broadcasterRelayOnly: true }, null),
      ),
    ).toBe('The broadcaster chose to send only through the server relay; using the server relay');
    expect(
      pathReasonFor({ ...RELAY, relayReason: 'forced', broadcasterRelayOnly: true }, null),
    ).toEqual({ key: 'reason.relayBroadcaster' });
    expect(translate('zh-CN', 'reason.relayBroadcaster')).toMatch(/主播/);
    expect(text({ ...RELAY, relayReason: 'overflow' }, null)).toBe(
      "The broadcaster's mesh is full; using the server relay",
    );
    expect(text({ ...RELAY, relayReason: 'uplink_saturated' }, null)).toMatch(/saturated/);
  });

  it('says clearly when no path works', () => {
    expect(text({ ...WEBRTC, noPath: true }, null)).toMatch(/^No media path works: /);
    expect(text({ ...WEBRTC, noPath: true, override: 'relay' }, null)).toMatch(
      /^No media path works: .*relay is switched off/,
    );
  });

  it('explains why HLS plays, and a relay this browser cannot decode', () => {
    const HLS = { ...WEBRTC, active: 'hls' as const };
    expect(pathReasonFor({ ...HLS, hlsCause: 'chosen' }, null)).toEqual({
      key: 'reason.hlsChosen',
    });
    expect(text({ ...HLS, hlsCause: 'relay-off' } as Ladder, null)).toBe(
      'No WebRTC media after 8 s and the server relay is off; using the HLS mirror (a few seconds behind)',
    );
    expect(pathReasonFor({ ...HLS, hlsCause: 'relay-unplayable' }, null)?.key).toBe(
      'reason.hlsRelayUnplayable',
    );
    expect(
      pathReasonFor({ ...RELAY, relayReason: 'overflow', relayPlayable: false }, null),
    ).toEqual({ key: 'reason.relayUnplayable' });
    expect(
      pathReasonFor({ ...WEBRTC, noPath: true, relayPlayable: false, relayAvailable: true }, null),
    ).toEqual({ key: 'reason.noPathUnplayable', params: { seconds: 8 } });
  });

  it('maps every reported English reason back to its key and params', () => {
    for (const key of PATH_REASON_KEYS) {
      const sentence = translate('en', key, { seconds: 8, protocol: 'TCP' });
      const parsed = parsePathReason(sentence);
      expect(parsed?.key).toBe(key);
      expect(translate('en', parsed!.key, parsed!.params)).toBe(sentence);
    }
    expect(parsePathReason('something else')).toBeNull();
  });

  it('localizes a reported reason for the broadcaster, passing unknown text through', () => {
    const zh = localizePathReason('No WebRTC media after 8 s; using the server relay', 'zh-CN');
    expect(zh).toBe(translate('zh-CN', 'reason.relayFallback', { seconds: '8' }));
    expect(zh).toContain('8');
    expect(localizePathReason('custom text', 'zh-CN')).toBe('custom text');
    expect(localizePathReason(null, 'en')).toBeNull();
  });
});
