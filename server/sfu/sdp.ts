/**
 * SDP offers from strangers (browsers, WHEP players, later WHIP encoders), parsed defensively
 * into a small model. Only what the model holds is ever given to the native WebRTC library: it
 * gets a canonical SDP rebuilt from validated fields, never the client's text. Every count and
 * length is bounded; anything unexpected is a typed refusal, never an exception.
 */

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export type MediaKind = 'audio' | 'video';

export interface SdpCodec {
  payloadType: number;
  /** As written in a=rtpmap, e.g. H264, VP8, opus. */
  name: string;
  clockRate: number;
  channels: number | null;
  /** `key=value` pairs of a=fmtp, in order; keys lower-cased. */
  params: Array<[string, string]>;
  /** Known rtcp-fb values for this payload type (nack, nack pli, ccm fir, goog-remb, transport-cc). */
  feedback: string[];
}

export interface SdpSsrc {
  ssrc: number;
  cname: string | null;
}

export interface SdpMedia {
  /** `other`: data channels and anything else; kept only to be rejected in order. */
  kind: MediaKind | 'other';
  mid: string;
  /** Port 0: the section is rejected by the offerer. */
  rejected: boolean;
  direction: SdpDirection;
  codecs: SdpCodec[];
  ssrcs: SdpSsrc[];
  /** RTP header extensions offered (id → URI); at most 16 are kept. */
  extensions: Array<{ id: number; uri: string }>;
}

export interface SdpOffer {
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string };
  setup: 'actpass' | 'active' | 'passive';
  /** Every section in offer order (the answer must keep it); only audio and video are used. */
  media: SdpMedia[];
}

export type SdpResult = { ok: true; offer: SdpOffer } | { ok: false; reason: string };

export const SDP_LIMITS = {
  maxChars: 64 * 1024,
  maxLines: 2000,
  maxLineChars: 4096,
  maxMediaSections: 8,
  maxCodecsPerSection: 64,
  maxSsrcsPerSection: 16,
  maxFmtpParams: 24,
} as const;

const ICE_CHARS = /^[A-Za-z0-9+/]+$/;
const MID = /^[A-Za-z0-9_.-]{1,32}$/;
const TOKEN = /^[A-Za-z0-9_.-]{1,32}$/;
const FINGERPRINT_VALUE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$/;
const FINGERPRINT_ALGORITHMS = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);
const FMTP_KEY = /^[A-Za-z0-9_-]{1,40}$/;
const FMTP_VALUE = /^[A-Za-z0-9_.:,+/=-]{0,256}$/;
const CNAME = /^[A-Za-z0-9+/=_.{}-]{1,64}$/;
const KNOWN_FEEDBACK = new Set(['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc']);

function fail(reason: string): SdpResult {
  return { ok: false, reason };
}

interface RawSection {
  header: string;
  lines: string[];
}

/** Splits into the session block and media sections, bounding the whole text first. */
function splitSections(
  sdp: string,
): { session: string[]; media: RawSection[] } | { error: string } {
  if (typeof sdp !== 'string' || sdp.length === 0) return { error: 'empty SDP' };
  if (sdp.length > SDP_LIMITS.maxChars) return { error: 'SDP too large' };
  const lines = sdp.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  if (lines.length > SDP_LIMITS.maxLines) return { error: 'too many SDP lines' };
  if (lines[0] !== 'v=0') return { error: 'SDP must start with v=0' };
  const session: string[] = [];
  const media: RawSection[] = [];
  for (const line of lines) {
    if (line.length > SDP_LIMITS.maxLineChars) return { error: 'SDP line too long' };
    if (line.startsWith('m=')) {
      if (media.length >= SDP_LIMITS.maxMediaSections) return { error: 'too many media sections' };
      media.push({ header: line, lines: [] });
    } else if (media.length === 0) session.push(line);
    else media.at(-1)!.lines.push(line);
  }
  return { session, media };
}

/** The value of the first `a=<name>:` line, or undefined. */
function attribute(lines: string[], name: string): string | undefined {
  const prefix = `a=${name}:`;
  const line = lines.find((l) => l.startsWith(prefix));
  return line?.slice(prefix.length).trim();
}

function parseFmtp(text: string): Array<[string, string]> | null {
  const params: Array<[string, string]> = [];
  for (const part of text.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    // A bare value (e.g. RED's "111/111") is kept under an empty key.
    const key = eq < 0 ? '' : trimmed.slice(0, eq).trim().toLowerCase();
    const value = eq < 0 ? trimmed : trimmed.slice(eq + 1).trim();
    if ((key !== '' && !FMTP_KEY.test(key)) || !FMTP_VALUE.test(value)) return null;
    params.push([key, value]);
    if (params.length > SDP_LIMITS.maxFmtpParams) return null;
  }
  return params;
}

function parseMedia(section: RawSection): { media: SdpMedia } | { error: string } {
  const header = /^m=([a-z]+) (\d{1,5})(?:\/\d+)? ([A-Za-z0-9/]+) ?([A-Za-z0-9 _-]*)$/.exec(
    section.header,
  );
  if (!header) return { error: 'malformed m= line' };
  const [, kind, portText, , formatText] = header;
  const mid = attribute(section.lines, 'mid');
  if (mid === undefined || !MID.test(mid))
    return { error: 'every media section needs a valid a=mid' };
  if ((kind === 'audio' || kind === 'video') && !/^[0-9 ]*$/.test(formatText!)) {
    return { error: 'malformed m= line' };
  }
  if (kind !== 'audio' && kind !== 'video') {
    const base = {
      mid,
      rejected: true,
      direction: 'inactive' as const,
      codecs: [],
      ssrcs: [],
      extensions: [],
    };
    return { media: { kind: 'other', ...base } };
  }
  const formats = formatText!.trim() === '' ? [] : formatText!.trim().split(/ +/).map(Number);
  if (formats.length > SDP_LIMITS.maxCodecsPerSection) return { error: 'too many payload types' };
  const codecs = new Map<number, SdpCodec>();
  for (const pt of formats) {
    if (!Number.isInteger(pt) || pt < 0 || pt > 127 || (pt >= 64 && pt <= 95)) {
      return { error: `invalid payload type ${pt}` };
    }
  }
  // rtpmap first: Firefox writes a=fmtp and a=rtcp-fb lines before the a=rtpmap they refer to.
  for (const line of section.lines) {
    const match = /^a=rtpmap:(\d{1,3}) ([A-Za-z0-9_.-]{1,32})\/(\d{1,7})(?:\/(\d{1,2}))?$/.exec(
      line,
    );
    if (!match) continue;
    const pt = Number(match[1]);
    if (!formats.includes(pt) || codecs.has(pt)) continue;
    const channels = match[4] === undefined ? null : Number(match[4]);
    const clockRate = Number(match[3]);
    if (clockRate < 1 || (channels !== null && (channels < 1 || channels > 8))) {
      return { error: 'invalid rtpmap' };
    }
    codecs.set(pt, {
      payloadType: pt,
      name: match[2]!,
      clockRate,
      channels,
      params: [],
      feedback: [],
    });
  }
  for (const line of section.lines) {
    let match = /^a=fmtp:(\d{1,3}) (.*)$/.exec(line);
    if (match) {
      const codec = codecs.get(Number(match[1]));
      if (!codec) continue;
      const params = parseFmtp(match[2]!);
      if (!params) return { error: 'invalid fmtp' };
      codec.params = params;
      continue;
    }
    match = /^a=rtcp-fb:(\d{1,3}|\*) (.+)$/.exec(line);
    if (match) {
      const value = match[2]!.trim().replace(/ +/g, ' ');
      if (!KNOWN_FEEDBACK.has(value)) continue;
      const targets = match[1] === '*' ? [...codecs.values()] : [codecs.get(Number(match[1]))];
      for (const codec of targets) {
        if (codec && !codec.feedback.includes(value)) codec.feedback.push(value);
      }
    }
  }
  const ssrcs: SdpSsrc[] = [];
  for (const line of section.lines) {
    const match = /^a=ssrc:(\d{1,10})(?: (.*))?$/.exec(line);
    if (!match) continue;
    const ssrc = Number(match[1]);
    if (ssrc < 1 || ssrc > 0xffffffff) return { error: 'invalid ssrc' };
    let entry = ssrcs.find((s) => s.ssrc === ssrc);
    if (!entry) {
      if (ssrcs.length >= SDP_LIMITS.maxSsrcsPerSection) return { error: 'too many ssrc lines' };
      entry = { ssrc, cname: null };
      ssrcs.push(entry);
    }
    const cname = /^cname:(\S+)$/.exec(match[2] ?? '')?.[1];
    if (cname !== undefined && CNAME.test(cname)) entry.cname = cname;
  }
  // FID/FEC groups: the repair streams are not forwarded, so only the first (primary) SSRC counts.
  const grouped = new Set<number>();
  for (const line of section.lines) {
    const match = /^a=ssrc-group:(FID|FEC-FR) (\d{1,10}) (\d{1,10})$/.exec(line);
    if (match) grouped.add(Number(match[3]));
  }
  const extensions: Array<{ id: number; uri: string }> = [];
  for (const line of section.lines) {
    const match = /^a=extmap:(\d{1,2})(?:\/\w+)? ([A-Za-z0-9:/._#-]{1,256})$/.exec(line);
    if (match && extensions.length < 16 && Number(match[1]) >= 1 && Number(match[1]) <= 14) {
      extensions.push({ id: Number(match[1]), uri: match[2]! });
    }
  }
  const directions: SdpDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];
  const direction = directions.find((d) => section.lines.includes(`a=${d}`)) ?? 'sendrecv';
  return {
    media: {
      kind,
      mid,
      rejected: Number(portText) === 0,
      direction,
      // Offer order is the offerer's preference order.
      codecs: formats.map((pt) => codecs.get(pt)).filter((c): c is SdpCodec => c !== undefined),
      ssrcs: ssrcs.filter((s) => !grouped.has(s.ssrc)),
      extensions,
    },
  };
}

/** Parses and validates an offer. Never throws. */
export function parseOffer(sdp: string): SdpResult {
  try {
    const split = splitSections(sdp);
    if ('error' in split) return fail(split.error);
    if (split.media.length === 0) return fail('no media sections');
    const all = [...split.session, ...split.media.flatMap((m) => m.lines)];
    // ICE and DTLS parameters may sit at session or media level; bundled sections share them.
    const iceUfrag = attribute(all, 'ice-ufrag');
    const icePwd = attribute(all, 'ice-pwd');
    if (!iceUfrag || iceUfrag.length < 4 || iceUfrag.length > 256 || !ICE_CHARS.test(iceUfrag)) {
      return fail('missing or invalid a=ice-ufrag');
    }
    if (!icePwd || icePwd.length < 22 || icePwd.length > 256 || !ICE_CHARS.test(icePwd)) {
      return fail('missing or invalid a=ice-pwd');
    }
    const fingerprintText = attribute(all, 'fingerprint');
    const fp = /^(\S+) (\S+)$/.exec(fingerprintText ?? '');
    const algorithm = fp?.[1]?.toLowerCase() ?? '';
    if (!fp || !FINGERPRINT_ALGORITHMS.has(algorithm) || !FINGERPRINT_VALUE.test(fp[2]!)) {
      return fail('missing or invalid a=fingerprint');
    }
    const setup = attribute(all, 'setup') ?? 'actpass';
    if (setup !== 'actpass' && setup !== 'active' && setup !== 'passive') {
      return fail('invalid a=setup');
    }
    const media: SdpMedia[] = [];
    const mids = new Set<string>();
    for (const section of split.media) {
      const parsed = parseMedia(section);
      if ('error' in parsed) return fail(parsed.error);
      if (mids.has(parsed.media.mid)) return fail('duplicate a=mid');
      mids.add(parsed.media.mid);
      media.push(parsed.media);
    }
    if (!media.some((m) => m.kind !== 'other')) return fail('no audio or video section');
    if (!TOKEN.test(algorithm)) return fail('invalid fingerprint algorithm');
    return {
      ok: true,
      offer: {
        iceUfrag,
        icePwd,
        fingerprint: { algorithm, value: fp[2]!.toUpperCase() },
        setup,
        media,
      },
    };
  } catch {
    return fail('unparsable SDP');
  }
}

export function formatParams(params: ReadonlyArray<[string, string]>): string {
  return params.map(([k, v]) => (k === '' ? v : `${k}=${v}`)).join(';');
}

export function codecParam(codec: SdpCodec, key: string): string | undefined {
  return codec.params.find(([k]) => k === key)?.[1];
}

/** What the rebuilt offer keeps of one section: its chosen codec, and its SSRCs if it sends. */
export interface CanonicalMedia {
  media: SdpMedia;
  codec: SdpCodec | null;
  /** Keep a=ssrc lines (a publisher's streams); a subscriber's are dropped so its RTP is unroutable. */
  keepSsrcs: boolean;
}

/**
 * The offer the native library parses: only validated fields, one codec per section (the one the
 * answer will use), no candidates (the server learns addresses from ICE checks only), and
 * sections without a usable codec marked rejected (port 0).
 */
export function canonicalOffer(offer: SdpOffer, sections: CanonicalMedia[]): string {
  const lines = [
    'v=0',
    'o=- 1 1 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    `a=group:BUNDLE ${sections
      .filter((s) => s.codec && !s.media.rejected)
      .map((s) => s.media.mid)
      .join(' ')}`,
    'a=ice-options:trickle',
    `a=ice-ufrag:${offer.iceUfrag}`,
    `a=ice-pwd:${offer.icePwd}`,
    `a=fingerprint:${offer.fingerprint.algorithm} ${offer.fingerprint.value}`,
    `a=setup:${offer.setup}`,
  ];
  for (const { media, codec, keepSsrcs } of sections) {
    if (media.kind === 'other') {
      lines.push('m=application 0 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0');
      lines.push(`a=mid:${media.mid}`);
      continue;
    }
    const usable = codec !== null && !media.rejected;
    const pt = codec?.payloadType ?? (media.kind === 'audio' ? 0 : 96);
    lines.push(`m=${media.kind} ${usable ? 9 : 0} UDP/TLS/RTP/SAVPF ${pt}`, 'c=IN IP4 0.0.0.0');
    lines.push(`a=mid:${media.mid}`, usable ? `a=${media.direction}` : 'a=inactive', 'a=rtcp-mux');
    if (codec) {
      const channels = codec.channels === null ? '' : `/${codec.channels}`;
      lines.push(`a=rtpmap:${pt} ${codec.name}/${codec.clockRate}${channels}`);
      if (codec.params.length > 0) lines.push(`a=fmtp:${pt} ${formatParams(codec.params)}`);
      for (const fb of codec.feedback) lines.push(`a=rtcp-fb:${pt} ${fb}`);
    }
    if (usable && keepSsrcs) {
      for (const { ssrc, cname } of media.ssrcs) {
        lines.push(`a=ssrc:${ssrc} cname:${cname ?? 'roomcast'}`);
      }
    }
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * The library's answer, prepared for a client: with WEBRTC_PUBLIC_IP (1:1 NAT) every host
 * candidate is replaced by one on the public address and the same port, so the private
 * addresses never reach strangers.
 */
export function rewriteAnswerCandidates(answer: string, publicIp: string | null): string {
  if (!publicIp) return answer;
  const lines = answer.split(/\r\n/);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    if (line.startsWith('m=')) seen.clear();
    const match = /^a=candidate:(\S+) (\d) (UDP|TCP) (\d+) (\S+) (\d+) typ host(.*)$/i.exec(line);
    if (!match) {
      out.push(
        line.startsWith('c=IN IP')
          ? `c=IN ${publicIp.includes(':') ? 'IP6' : 'IP4'} ${publicIp}`
          : line,
      );
      continue;
    }
    const [, foundation, component, transport, priority, , port, rest] = match;
    const key = `${transport}:${port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(
      `a=candidate:${foundation} ${component} ${transport} ${priority} ${publicIp} ${port} typ host${rest}`,
    );
  }
  return out.join('\r\n');
}
