import { SFU_CODEC_ORDER, type VideoCodecName } from '../../shared/index';
import { codecParam, type SdpCodec, type SdpMedia } from './sdp';

/**
 * Which codec a publisher's section is answered with, and which of a subscriber's offered payload
 * types carries the room's codec unchanged. The SFU never transcodes: a subscriber that cannot
 * take the room's codec is refused (CODEC_UNSUPPORTED) and the viewer goes to another rung.
 */

export type SfuVideoCodec = (typeof SFU_CODEC_ORDER)[number];

/** The publisher's codec for one kind: what every subscriber must be able to decode. */
export interface RoomCodec {
  kind: 'audio' | 'video';
  /** Upper-cased: H264, VP8, VP9, AV1, OPUS. */
  name: string;
  clockRate: number;
  channels: number | null;
  params: Array<[string, string]>;
}

export function videoCodecName(name: string): VideoCodecName | null {
  const upper = name.toUpperCase();
  return (SFU_CODEC_ORDER as readonly string[]).includes(upper) ? (upper as SfuVideoCodec) : null;
}

/** H.264 profile_idc + constraint flags, e.g. "42e0"; "4200" when absent (RFC 6184 default). */
function h264Profile(codec: Pick<SdpCodec, 'params'>): string {
  const id = codecParam(codec as SdpCodec, 'profile-level-id')?.toLowerCase() ?? '42001f';
  return /^[0-9a-f]{6}$/.test(id) ? id.slice(0, 4) : '4200';
}

function h264Mode(codec: Pick<SdpCodec, 'params'>): string {
  return codecParam(codec as SdpCodec, 'packetization-mode') ?? '0';
}

/** Constrained baseline: profile_idc 0x42 with constraint_set1 (0x40) set. */
function isConstrainedBaseline(profile: string): boolean {
  return profile.startsWith('42') && (parseInt(profile.slice(2), 16) & 0x40) !== 0;
}

/** Rank of an H.264 entry for a publisher: constrained baseline, mode 1 first (decodes anywhere). */
function h264PublisherRank(codec: SdpCodec): number {
  const profile = h264Profile(codec);
  const mode = h264Mode(codec);
  if (mode !== '1') return 3;
  if (isConstrainedBaseline(profile)) return 0;
  return profile.startsWith('42') ? 1 : 2;
}

/**
 * The publisher's video codec: the first name in `order` it offers (H.264 prefers constrained
 * baseline with packetization-mode 1). Null when it offers none the SFU forwards.
 */
export function choosePublisherVideo(
  media: SdpMedia,
  order: readonly string[] = SFU_CODEC_ORDER,
): SdpCodec | null {
  for (const name of order) {
    const candidates = media.codecs.filter((c) => c.name.toUpperCase() === name);
    if (candidates.length === 0) continue;
    if (name !== 'H264') return candidates[0]!;
    return [...candidates].sort((a, b) => h264PublisherRank(a) - h264PublisherRank(b))[0]!;
  }
  return null;
}

export function choosePublisherAudio(media: SdpMedia): SdpCodec | null {
  return media.codecs.find((c) => c.name.toUpperCase() === 'OPUS' && c.clockRate === 48000) ?? null;
}

export function roomCodecOf(kind: 'audio' | 'video', codec: SdpCodec): RoomCodec {
  return {
    kind,
    name: codec.name.toUpperCase(),
    clockRate: codec.clockRate,
    channels: codec.channels,
    params: codec.params,
  };
}

/** Can a decoder configured by `offered` decode what the publisher sends as `room`? */
function compatible(room: RoomCodec, offered: SdpCodec): boolean {
  if (offered.name.toUpperCase() !== room.name || offered.clockRate !== room.clockRate)
    return false;
  switch (room.name) {
    case 'H264': {
      if (h264Mode(offered) !== h264Mode(room)) return false;
      const sent = h264Profile(room);
      const can = h264Profile(offered);
      if (sent === can) return true;
      // Constrained baseline is a subset of baseline, main and high.
      return isConstrainedBaseline(sent) && ['42', '4d', '64'].includes(can.slice(0, 2));
    }
    case 'VP9':
      return (codecParam(offered, 'profile-id') ?? '0') === (roomParam(room, 'profile-id') ?? '0');
    case 'AV1':
      return (codecParam(offered, 'profile') ?? '0') === (roomParam(room, 'profile') ?? '0');
    default:
      return true;
  }
}

function roomParam(room: RoomCodec, key: string): string | undefined {
  return room.params.find(([k]) => k === key)?.[1];
}

/**
 * The subscriber's payload type for the room's codec: an exact H.264 profile first, else the
 * first compatible entry in the subscriber's own preference order. Null: it cannot decode it.
 */
export function matchSubscriberCodec(room: RoomCodec, media: SdpMedia): SdpCodec | null {
  const usable = media.codecs.filter((c) => compatible(room, c));
  if (room.name === 'H264') {
    const exact = usable.find((c) => h264Profile(c) === h264Profile(room));
    if (exact) return exact;
  }
  return usable[0] ?? null;
}
