import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CODEC_ORDER } from '../../shared/index';
import {
  codecNameFromMime,
  orderVideoCodecs,
  setVideoCodecPreferences,
  supportedVideoCodecs,
} from '../../client/src/lib/codec-preferences';

const c = (mimeType: string, sdpFmtpLine?: string): RTCRtpCodec => ({
  mimeType,
  clockRate: 90000,
  ...(sdpFmtpLine ? { sdpFmtpLine } : {}),
});

// Shape of Chromium's RTCRtpReceiver.getCapabilities('video').codecs (abridged, in its order).
const CHROME_CAPS: RTCRtpCodec[] = [
  c('video/VP8'),
  c('video/rtx'),
  c('video/VP9', 'profile-id=0'),
  c('video/VP9', 'profile-id=2'),
  c('video/H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f'),
  c('video/H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'),
  c('video/H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f'),
  c('video/AV1', 'level-idx=5;profile=0;tier=0'),
  c('video/H265'),
  c('video/red'),
  c('video/ulpfec'),
  c('video/flexfec-03', 'repair-window=10000000'),
];

const names = (codecs: RTCRtpCodec[]) => codecs.map((x) => x.mimeType.slice(6));

describe('codecNameFromMime', () => {
  it('maps video mime types to codec names', () => {
    expect(codecNameFromMime('video/AV1')).toBe('AV1');
    expect(codecNameFromMime('video/H264')).toBe('H264');
    expect(codecNameFromMime('video/vp9')).toBe('VP9');
    expect(codecNameFromMime('video/VP8')).toBe('VP8');
    expect(codecNameFromMime('video/AV1X')).toBe('AV1');
  });
  it('returns null for resilience entries and unknown codecs', () => {
    expect(codecNameFromMime('video/rtx')).toBeNull();
    expect(codecNameFromMime('video/red')).toBeNull();
    expect(codecNameFromMime('video/H265')).toBeNull();
    expect(codecNameFromMime('audio/opus')).toBeNull();
  });
});

describe('orderVideoCodecs', () => {
  it('puts the default order first and keeps rtx/red/fec at the end', () => {
    const ordered = orderVideoCodecs(CHROME_CAPS, DEFAULT_CODEC_ORDER);
    expect(names(ordered)).toEqual([
      'AV1',
      'VP9',
      'VP9',
      'H264',
      'H264',
      'H264',
      'VP8',
      'H265',
      'rtx',
      'red',
      'ulpfec',
      'flexfec-03',
    ]);
    // Profiles of one codec keep the browser's order.
    expect(ordered[1]?.sdpFmtpLine).toBe('profile-id=0');
    expect(ordered[2]?.sdpFmtpLine).toBe('profile-id=2');
  });

  it('honours an override that puts H264 first', () => {
    const ordered = orderVideoCodecs(CHROME_CAPS, ['H264', 'AV1', 'VP9', 'VP8']);
    expect(names(ordered).slice(0, 4)).toEqual(['H264', 'H264', 'H264', 'AV1']);
  });

  it('returns only entries present in the capabilities, and all of them', () => {
    const caps = [c('video/VP8'), c('video/rtx'), c('video/H264', 'profile-level-id=42e01f')];
    const ordered = orderVideoCodecs(caps, DEFAULT_CODEC_ORDER);
    expect(names(ordered)).toEqual(['H264', 'VP8', 'rtx']);
    expect(orderVideoCodecs([], DEFAULT_CODEC_ORDER)).toEqual([]);
  });

  it('places codecs missing from a partial order after the named ones', () => {
    expect(names(orderVideoCodecs(CHROME_CAPS, ['VP8'])).slice(0, 3)).toEqual([
      'VP8',
      'VP9',
      'VP9',
    ]);
  });

  it('does not mutate its input', () => {
    const copy = [...CHROME_CAPS];
    orderVideoCodecs(CHROME_CAPS, DEFAULT_CODEC_ORDER);
    expect(CHROME_CAPS).toEqual(copy);
  });
});

describe('with a stubbed RTCRtpReceiver', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('supportedVideoCodecs reads receiver capabilities in the default order', () => {
    vi.stubGlobal('RTCRtpReceiver', {
      getCapabilities: (kind: string) => (kind === 'video' ? { codecs: CHROME_CAPS } : null),
    });
    expect(supportedVideoCodecs()).toEqual(['AV1', 'VP9', 'H264', 'VP8']);
  });

  it('supportedVideoCodecs is empty without WebRTC', () => {
    expect(supportedVideoCodecs()).toEqual([]);
  });

  it('setVideoCodecPreferences passes ordered receiver capabilities', () => {
    const getCapabilities = vi.fn(() => ({ codecs: CHROME_CAPS }));
    vi.stubGlobal('RTCRtpReceiver', { getCapabilities });
    const setCodecPreferences = vi.fn();
    const ok = setVideoCodecPreferences({ setCodecPreferences } as unknown as RTCRtpTransceiver, [
      'VP9',
      'AV1',
      'H264',
      'VP8',
    ]);
    expect(ok).toBe(true);
    expect(getCapabilities).toHaveBeenCalledWith('video');
    const passed = setCodecPreferences.mock.calls[0]?.[0] as RTCRtpCodec[];
    expect(names(passed).slice(0, 3)).toEqual(['VP9', 'VP9', 'AV1']);
  });

  it('setVideoCodecPreferences reports false when the browser refuses', () => {
    vi.stubGlobal('RTCRtpReceiver', { getCapabilities: () => ({ codecs: CHROME_CAPS }) });
    const transceiver = {
      setCodecPreferences: () => {
        throw new Error('InvalidModificationError');
      },
    } as unknown as RTCRtpTransceiver;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(setVideoCodecPreferences(transceiver)).toBe(false);
    warn.mockRestore();
  });
});
