import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  choosePublisherVideo,
  matchSubscriberCodec,
  roomCodecOf,
} from '../../server/sfu/codec-match';
import {
  canonicalOffer,
  parseOffer,
  rewriteAnswerCandidates,
  SDP_LIMITS,
} from '../../server/sfu/sdp';
import { FIREFOX_RECVONLY_OFFER } from '../support/firefox-offer';

/** A Chrome-like sendonly offer (trimmed): H.264 profiles, VP8, AV1, RTX, Opus, a data channel. */
export const CHROME_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'a=msid-semantic: WMS stream',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 106 45',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:Xy7p',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 ' + Array.from({ length: 32 }, (_, i) => (i + 16).toString(16)).join(':'),
  'a=setup:actpass',
  'a=mid:0',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendonly',
  'a=rtcp-mux',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000',
  'a=rtcp-fb:102 goog-remb',
  'a=rtcp-fb:102 transport-cc',
  'a=rtcp-fb:102 nack',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
  'a=rtpmap:103 H264/90000',
  'a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:106 H264/90000',
  'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f',
  'a=rtpmap:45 AV1/90000',
  'a=fmtp:45 level-idx=5;profile=0;tier=0',
  'a=ssrc-group:FID 1001 1002',
  'a=ssrc:1001 cname:abcd',
  'a=ssrc:1002 cname:abcd',
  'a=candidate:1 1 udp 2113937151 10.0.0.5 51000 typ host',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendonly',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=ssrc:2001 cname:abcd',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'a=mid:2',
  '',
].join('\r\n');

describe('SFU SDP parsing', () => {
  it('parses a browser offer into sections, codecs, feedback and primary SSRCs', () => {
    const parsed = parseOffer(CHROME_OFFER);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const [video, audio, data] = parsed.offer.media;
    expect(parsed.offer.iceUfrag).toBe('Xy7p');
    expect(parsed.offer.fingerprint.algorithm).toBe('sha-256');
    expect(video!.kind).toBe('video');
    expect(video!.direction).toBe('sendonly');
    expect(video!.codecs.map((c) => `${c.payloadType}:${c.name}`)).toEqual([
      '96:VP8',
      '97:rtx',
      '102:H264',
      '103:H264',
      '106:H264',
      '45:AV1',
    ]);
    expect(video!.codecs[2]!.feedback).toEqual(['goog-remb', 'transport-cc', 'nack']);
    // The RTX SSRC (second of the FID group) is not a stream of its own.
    expect(video!.ssrcs).toEqual([{ ssrc: 1001, cname: 'abcd' }]);
    expect(audio!.codecs[0]).toMatchObject({ name: 'opus', clockRate: 48000, channels: 2 });
    expect(data!.kind).toBe('other');
  });

  it("reads Firefox's offer, whose fmtp and rtcp-fb lines come before their rtpmap", () => {
    const parsed = parseOffer(FIREFOX_RECVONLY_OFFER);
    if (!parsed.ok) throw new Error(parsed.reason);
    const [video, audio] = parsed.offer.media;
    expect(video!.direction).toBe('recvonly');
    const vp8 = video!.codecs.find((c) => c.name === 'VP8')!;
    expect(vp8.params).toEqual([
      ['max-fs', '12288'],
      ['max-fr', '60'],
    ]);
    expect(vp8.feedback).toContain('nack pli');
    expect(video!.codecs.some((c) => c.name === 'H264')).toBe(false);
    expect(video!.extensions.some((e) => e.uri.endsWith('playout-delay'))).toBe(true);
    expect(audio!.codecs[0]!.name).toBe('opus');
  });

  it.each([
    ['empty', ''],
    ['not SDP', 'hello'],
    ['no media', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n'],
    ['no ufrag', CHROME_OFFER.replace('a=ice-ufrag:Xy7p\r\n', '')],
    ['short pwd', CHROME_OFFER.replace('abcdefghijklmnopqrstuvwx', 'short')],
    ['bad fingerprint', CHROME_OFFER.replace('sha-256 10:', 'sha-256 ZZ:')],
    ['reserved payload type', CHROME_OFFER.replace('SAVPF 111', 'SAVPF 72')],
    ['duplicate mid', CHROME_OFFER.replace('a=mid:1', 'a=mid:0')],
    ['injected fmtp', CHROME_OFFER.replace('minptime=10', 'minptime=10\u0000x')],
    ['too many sections', CHROME_OFFER + 'm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:x\r\n'.repeat(10)],
    ['oversized', 'v=0\r\n' + 'a=x\r\n'.repeat(SDP_LIMITS.maxChars)],
  ])('refuses %s with a reason', (_name, sdp) => {
    const parsed = parseOffer(sdp);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(3);
  });

  it('never throws on random input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (text) => {
        const result = parseOffer(`v=0\r\n${text}`);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...CHROME_OFFER.split('\r\n')), { maxLength: 80 }),
        (lines) => {
          expect(typeof parseOffer(['v=0', ...lines].join('\r\n')).ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('rebuilds a canonical offer: one codec per section, no candidates, data channel rejected', () => {
    const parsed = parseOffer(CHROME_OFFER);
    if (!parsed.ok) throw new Error(parsed.reason);
    const [video, audio, data] = parsed.offer.media;
    const h264 = choosePublisherVideo(video!)!;
    const sdp = canonicalOffer(parsed.offer, [
      { media: video!, codec: h264, keepSsrcs: true },
      { media: audio!, codec: audio!.codecs[0]!, keepSsrcs: false },
      { media: data!, codec: null, keepSsrcs: false },
    ]);
    expect(sdp).toContain('m=video 9 UDP/TLS/RTP/SAVPF 103\r\n');
    expect(sdp).toContain('a=ssrc:1001 cname:abcd');
    expect(sdp).not.toContain('a=ssrc:2001');
    expect(sdp).not.toContain('candidate');
    expect(sdp).not.toContain('rtx');
    expect(sdp).toMatch(/m=application 0 UDP\/DTLS\/SCTP webrtc-datachannel\r\n.*\r\na=mid:2/);
    // What we rebuild parses again.
    expect(parseOffer(sdp).ok).toBe(true);
  });

  it('announces WEBRTC_PUBLIC_IP instead of the host addresses', () => {
    const answer = [
      'v=0',
      'm=video 40000 UDP/TLS/RTP/SAVPF 96',
      'c=IN IP4 192.0.2.2',
      'a=candidate:1 1 UDP 2114977791 192.0.2.2 40000 typ host',
      'a=candidate:2 1 UDP 2116026111 fd00::2 40000 typ host',
      'a=end-of-candidates',
    ].join('\r\n');
    const out = rewriteAnswerCandidates(answer, '203.0.113.7');
    expect(out).toContain('c=IN IP4 203.0.113.7');
    expect(out.match(/a=candidate/g)).toHaveLength(1);
    expect(out).toContain('203.0.113.7 40000 typ host');
    expect(out).not.toMatch(/192\.0\.2\.2|fd00::2/);
    expect(rewriteAnswerCandidates(answer, null)).toBe(answer);
  });
});

describe('SFU codec choice', () => {
  const offer = parseOffer(CHROME_OFFER);
  if (!offer.ok) throw new Error(offer.reason);
  const video = offer.offer.media[0]!;

  it('takes H.264 constrained baseline with packetization-mode 1 from a publisher first', () => {
    expect(choosePublisherVideo(video)?.payloadType).toBe(103);
    expect(choosePublisherVideo(video, ['AV1', 'H264'])?.payloadType).toBe(45);
    expect(choosePublisherVideo({ ...video, codecs: [] })).toBeNull();
  });

  it("matches a subscriber's payload type for the room codec, or none", () => {
    const room = roomCodecOf(
      'video',
      video.codecs.find((c) => c.payloadType === 103)!,
    );
    expect(matchSubscriberCodec(room, video)?.payloadType).toBe(103);
    // Only main profile offered: constrained baseline still decodes there.
    const mainOnly = { ...video, codecs: video.codecs.filter((c) => c.payloadType === 106) };
    expect(matchSubscriberCodec(room, mainOnly)?.payloadType).toBe(106);
    // packetization-mode 0 cannot take mode-1 fragments.
    const mode0 = { ...video, codecs: video.codecs.filter((c) => c.payloadType === 102) };
    expect(matchSubscriberCodec(room, mode0)).toBeNull();
    // A Firefox-like offer without H.264 cannot take an H.264 room.
    const noH264 = { ...video, codecs: video.codecs.filter((c) => c.name !== 'H264') };
    expect(matchSubscriberCodec(room, noH264)).toBeNull();
    const vp8Room = roomCodecOf('video', video.codecs[0]!);
    expect(matchSubscriberCodec(vp8Room, noH264)?.payloadType).toBe(96);
  });
});
