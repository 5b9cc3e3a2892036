import { DEFAULT_CODEC_ORDER, VIDEO_CODECS, type VideoCodecName } from '../../../shared';
import { createLogger } from './logger';

const log = createLogger('codecs');

/** Entries that aren't media codecs but must stay in the list (retransmission and FEC). */
const RESILIENCE_CODECS = new Set(['rtx', 'red', 'ulpfec', 'flexfec-03', 'flexfec']);

function mimeSubtype(mimeType: string): string {
  const slash = mimeType.indexOf('/');
  return (slash >= 0 ? mimeType.slice(slash + 1) : mimeType).trim();
}

/** 'video/AV1' → 'AV1', 'video/H264' → 'H264'; null for rtx/red/fec and unknown codecs. */
export function codecNameFromMime(mimeType: string): VideoCodecName | null {
  const subtype = mimeSubtype(mimeType).toUpperCase();
  // Older Chrome advertised AV1 as "AV1X".
  const normalized = subtype === 'AV1X' ? 'AV1' : subtype;
  return (VIDEO_CODECS as readonly string[]).includes(normalized)
    ? (normalized as VideoCodecName)
    : null;
}

function isResilienceCodec(codec: RTCRtpCodec): boolean {
  return RESILIENCE_CODECS.has(mimeSubtype(codec.mimeType).toLowerCase());
}

/**
 * Orders capability entries for `setCodecPreferences`: the named codecs in `order` (each
 * codec's profiles keep their capability order), then any other media codec, then
 * rtx/red/ulpfec/flexfec, which must stay or retransmission and FEC are lost.
 * Only entries present in `capabilities` are returned.
 */
export function orderVideoCodecs(
  capabilities: RTCRtpCodec[],
  order: readonly VideoCodecName[],
): RTCRtpCodec[] {
  const rank = (codec: RTCRtpCodec): number => {
    if (isResilienceCodec(codec)) return order.length + 1;
    const name = codecNameFromMime(codec.mimeType);
    const index = name ? order.indexOf(name) : -1;
    return index >= 0 ? index : order.length;
  };
  // Array.prototype.sort is stable, so equal ranks keep their capability order.
  return capabilities
    .map((codec, position) => ({ codec, position, rank: rank(codec) }))
    .sort((a, b) => a.rank - b.rank || a.position - b.position)
    .map((entry) => entry.codec);
}

function receiverVideoCapabilities(): RTCRtpCodec[] {
  if (typeof RTCRtpReceiver === 'undefined' || !RTCRtpReceiver.getCapabilities) return [];
  return RTCRtpReceiver.getCapabilities('video')?.codecs ?? [];
}

/** Video codecs this browser can handle, from the receiver capabilities, in the default order. */
export function supportedVideoCodecs(): VideoCodecName[] {
  const present = new Set<VideoCodecName>();
  for (const codec of receiverVideoCapabilities()) {
    const name = codecNameFromMime(codec.mimeType);
    if (name) present.add(name);
  }
  return DEFAULT_CODEC_ORDER.filter((name) => present.has(name));
}

/**
 * Applies `order` to a video transceiver. Codecs come from the RECEIVER capabilities: Chrome
 * ≥ 130 throws InvalidModificationError for sender capabilities. Returns false if the browser
 * refused (the connection then negotiates with the browser's default order).
 */
export function setVideoCodecPreferences(
  transceiver: RTCRtpTransceiver,
  order: readonly VideoCodecName[] = DEFAULT_CODEC_ORDER,
): boolean {
  const capabilities = receiverVideoCapabilities();
  if (capabilities.length === 0 || typeof transceiver.setCodecPreferences !== 'function') {
    return false;
  }
  try {
    transceiver.setCodecPreferences(orderVideoCodecs(capabilities, order));
    return true;
  } catch (err) {
    log.warn('setCodecPreferences failed; using the browser default order', err);
    return false;
  }
}
