/**
 * Can this browser decode what a remote offer sends? Firefox without the OpenH264 plugin has no
 * H.264 over WebRTC, so an offer whose video carries only H.264 negotiates a dead video track
 * (the ladder would wait out its media deadline). Reading the offer tells us at once.
 */

/** Entries that aren't media codecs (retransmission, FEC, comfort noise, DTMF). */
const NON_MEDIA = new Set([
  'rtx',
  'red',
  'ulpfec',
  'flexfec',
  'flexfec-03',
  'cn',
  'telephone-event',
]);

function mediaCodecName(encodingName: string): string | null {
  const name = encodingName.trim().toUpperCase();
  if (name === '' || NON_MEDIA.has(name.toLowerCase())) return null;
  return name === 'AV1X' ? 'AV1' : name;
}

/**
 * The media codec names (upper case, e.g. `H264`, `AV1`) of each active video m-section of an
 * SDP, in order. A rejected section (port 0) or one marked inactive is skipped.
 */
export function offeredVideoCodecs(sdp: string): string[][] {
  const sections: string[][] = [];
  let current: string[] | null = null;
  for (const rawLine of sdp.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line.startsWith('m=')) {
      const [kind, port] = line.slice(2).split(' ');
      current = kind === 'video' && port !== '0' ? [] : null;
      if (current) sections.push(current);
    } else if (current && line === 'a=inactive') {
      sections.pop();
      current = null;
    } else if (current && line.startsWith('a=rtpmap:')) {
      const encoding = line.split(' ')[1]?.split('/')[0] ?? '';
      const name = mediaCodecName(encoding);
      if (name && !current.includes(name)) current.push(name);
    }
  }
  return sections;
}

/** The receiver's video media codec names (upper case) from `RTCRtpReceiver.getCapabilities`. */
export function receivableVideoCodecs(): string[] | null {
  if (typeof RTCRtpReceiver === 'undefined' || !RTCRtpReceiver.getCapabilities) return null;
  const codecs = RTCRtpReceiver.getCapabilities('video')?.codecs;
  if (!codecs) return null;
  const names = new Set<string>();
  for (const codec of codecs) {
    const slash = codec.mimeType.indexOf('/');
    const name = mediaCodecName(codec.mimeType.slice(slash + 1));
    if (name) names.add(name);
  }
  return [...names];
}

/**
 * The offered video codecs when NONE of them can be received here (so WebRTC video can't play),
 * else null. Unknown receiver capabilities or an offer without video also give null.
 */
export function undecodableVideoOffer(
  sdp: string,
  receivable: readonly string[] | null,
): string[] | null {
  if (!receivable || receivable.length === 0) return null;
  const can = new Set(receivable.map((name) => name.toUpperCase()));
  for (const section of offeredVideoCodecs(sdp)) {
    if (section.length > 0 && !section.some((name) => can.has(name))) return section;
  }
  return null;
}
