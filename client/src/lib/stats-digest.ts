import type { MediaPath, PeerStatsDigest } from '../../../shared';
import { LIMITS } from '../../../shared';
import { codecNameFromMime } from './codec-preferences';

/**
 * Pure functions that boil an RTCPeerConnection's getStats() down to a PeerStatsDigest.
 * Input is an iterable of plain stats objects (`Array.from(report.values())`), so tests can
 * feed fixtures copied from Chrome.
 */

export interface StatsSnapshot {
  at: number;
  bytes: number;
  frames: number;
}

type Stat = Record<string, unknown>;

const QUALITY_LIMITATIONS = ['none', 'cpu', 'bandwidth', 'other'] as const;

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function isKind(stat: Stat, kind: 'video' | 'audio'): boolean {
  // `mediaType` is the pre-2020 spelling still seen in some fixtures.
  return stat.kind === kind || stat.mediaType === kind;
}

/** relay → 'turn', anything else → 'direct'. */
export function pathFromCandidateType(candidateType: string | null): MediaPath {
  return candidateType === 'relay' ? 'turn' : 'direct';
}

interface Indexed {
  byId: Map<string, Stat>;
  all: Stat[];
}

function index(stats: Iterable<Record<string, unknown>>): Indexed {
  const all = Array.from(stats);
  const byId = new Map<string, Stat>();
  for (const stat of all) {
    const id = str(stat.id);
    if (id) byId.set(id, stat);
  }
  return { byId, all };
}

/** The busiest RTP stream of a type and kind (several exist briefly after renegotiation). */
function pickRtp(
  stats: Indexed,
  type: string,
  kind: 'video' | 'audio',
  bytesField: string,
): Stat | null {
  let best: Stat | null = null;
  for (const stat of stats.all) {
    if (stat.type !== type || !isKind(stat, kind)) continue;
    if (!best || (num(stat[bytesField]) ?? 0) > (num(best[bytesField]) ?? 0)) best = stat;
  }
  return best;
}

function codecName(stats: Indexed, rtp: Stat | null): string {
  const codecId = rtp ? str(rtp.codecId) : null;
  const mimeType = codecId ? str(stats.byId.get(codecId)?.mimeType) : null;
  if (!mimeType) return '';
  const name = codecNameFromMime(mimeType);
  if (name) return name;
  const slash = mimeType.indexOf('/');
  return mimeType.slice(slash + 1).slice(0, LIMITS.maxCodecNameChars);
}

/** The selected candidate pair: via the transport, else a selected/nominated succeeded pair. */
function selectedPair(stats: Indexed): Stat | null {
  for (const stat of stats.all) {
    if (stat.type !== 'transport') continue;
    const pairId = str(stat.selectedCandidatePairId);
    const pair = pairId ? stats.byId.get(pairId) : undefined;
    if (pair) return pair;
  }
  const pairs = stats.all.filter((s) => s.type === 'candidate-pair');
  return (
    pairs.find((p) => p.selected === true) ??
    pairs.find((p) => p.nominated === true && p.state === 'succeeded') ??
    null
  );
}

interface PathInfo {
  path: MediaPath;
  candidateType: string | null;
  protocol: string | null;
  pairRttMs: number | null;
}

function pathInfo(stats: Indexed): PathInfo {
  const pair = selectedPair(stats);
  if (!pair) return { path: 'direct', candidateType: null, protocol: null, pairRttMs: null };
  const localId = str(pair.localCandidateId);
  const remoteId = str(pair.remoteCandidateId);
  const local = localId ? stats.byId.get(localId) : undefined;
  const remote = remoteId ? stats.byId.get(remoteId) : undefined;
  const candidateType = str(local?.candidateType);
  const remoteType = str(remote?.candidateType);
  const relayProtocol = str(local?.relayProtocol);
  const protocol =
    candidateType === 'relay' && relayProtocol ? relayProtocol : str(local?.protocol);
  const rtt = num(pair.currentRoundTripTime);
  return {
    // Media also crosses TURN when only the far side is relayed.
    path: pathFromCandidateType(remoteType === 'relay' ? 'relay' : candidateType),
    candidateType: candidateType ? candidateType.slice(0, 16) : null,
    protocol: protocol ? protocol.slice(0, 8) : null,
    pairRttMs: rtt === null ? null : rtt * 1000,
  };
}

function bitrateKbps(bytes: number, prev: StatsSnapshot | null, nowMs: number): number {
  if (!prev || nowMs <= prev.at || bytes < prev.bytes) return 0;
  // bits per millisecond = kilobits per second.
  return clamp(((bytes - prev.bytes) * 8) / (nowMs - prev.at), 0, 1_000_000);
}

function fps(reported: number | null, frames: number, prev: StatsSnapshot | null, nowMs: number) {
  if (reported !== null) return clamp(reported, 0, 1000);
  if (!prev || nowMs <= prev.at || frames < prev.frames) return 0;
  return clamp(((frames - prev.frames) * 1000) / (nowMs - prev.at), 0, 1000);
}

function lossPct(lost: number | null, delivered: number | null): number | null {
  if (lost === null || delivered === null) return null;
  const total = Math.max(lost, 0) + delivered;
  return total > 0 ? clamp((Math.max(lost, 0) / total) * 100, 0, 100) : null;
}

/** Sender side: lost as a share of what was sent (the sent count already includes the lost). */
function sentLossPct(lost: number | null, sent: number | null): number | null {
  if (lost === null || sent === null || sent <= 0) return null;
  return clamp((Math.max(lost, 0) / sent) * 100, 0, 100);
}

function rtt(ms: number | null): number | null {
  return ms === null ? null : clamp(ms, 0, 600_000);
}

function dimension(value: unknown): number {
  const n = num(value);
  return n === null ? 0 : clamp(Math.round(n), 0, 16384);
}

/** A viewer's view: the video inbound-rtp plus the selected path. Bitrate counts video+audio. */
export function digestInboundStats(
  stats: Iterable<Record<string, unknown>>,
  prev: StatsSnapshot | null,
  nowMs: number,
): { digest: PeerStatsDigest; snapshot: StatsSnapshot } {
  const indexed = index(stats);
  const video = pickRtp(indexed, 'inbound-rtp', 'video', 'bytesReceived');
  const audio = pickRtp(indexed, 'inbound-rtp', 'audio', 'bytesReceived');
  const bytes = (num(video?.bytesReceived) ?? 0) + (num(audio?.bytesReceived) ?? 0);
  const frames = num(video?.framesDecoded) ?? 0;
  const info = pathInfo(indexed);
  const digest: PeerStatsDigest = {
    path: info.path,
    codec: codecName(indexed, video),
    bitrateKbps: bitrateKbps(bytes, prev, nowMs),
    fps: fps(num(video?.framesPerSecond), frames, prev, nowMs),
    width: dimension(video?.frameWidth),
    height: dimension(video?.frameHeight),
    rttMs: rtt(info.pairRttMs),
    lossPct: lossPct(num(video?.packetsLost), num(video?.packetsReceived)),
    candidateType: info.candidateType,
    protocol: info.protocol,
  };
  return { digest, snapshot: { at: nowMs, bytes, frames } };
}

/** The broadcaster's view of one viewer: video outbound-rtp, what the viewer reports back, path. */
export function digestOutboundStats(
  stats: Iterable<Record<string, unknown>>,
  prev: StatsSnapshot | null,
  nowMs: number,
): { digest: PeerStatsDigest; snapshot: StatsSnapshot } {
  const indexed = index(stats);
  const video = pickRtp(indexed, 'outbound-rtp', 'video', 'bytesSent');
  const audio = pickRtp(indexed, 'outbound-rtp', 'audio', 'bytesSent');
  const bytes = (num(video?.bytesSent) ?? 0) + (num(audio?.bytesSent) ?? 0);
  const frames = num(video?.framesEncoded) ?? num(video?.framesSent) ?? 0;
  const info = pathInfo(indexed);

  const videoSsrc = video ? num(video.ssrc) : null;
  const remoteInbound =
    indexed.all.find(
      (s) =>
        s.type === 'remote-inbound-rtp' &&
        ((video && str(video.remoteId) === s.id) || (videoSsrc !== null && s.ssrc === videoSsrc)),
    ) ?? indexed.all.find((s) => s.type === 'remote-inbound-rtp' && isKind(s, 'video'));
  const remoteRtt = num(remoteInbound?.roundTripTime);
  const fractionLost = num(remoteInbound?.fractionLost);
  const loss =
    fractionLost !== null
      ? clamp(fractionLost * 100, 0, 100)
      : sentLossPct(num(remoteInbound?.packetsLost), num(video?.packetsSent));

  const reason = str(video?.qualityLimitationReason);
  const qualityLimitation =
    reason === null
      ? null
      : (QUALITY_LIMITATIONS as readonly string[]).includes(reason)
        ? (reason as (typeof QUALITY_LIMITATIONS)[number])
        : 'other';

  const digest: PeerStatsDigest = {
    path: info.path,
    codec: codecName(indexed, video),
    bitrateKbps: bitrateKbps(bytes, prev, nowMs),
    fps: fps(num(video?.framesPerSecond), frames, prev, nowMs),
    width: dimension(video?.frameWidth),
    height: dimension(video?.frameHeight),
    rttMs: rtt(remoteRtt !== null ? remoteRtt * 1000 : info.pairRttMs),
    lossPct: loss,
    candidateType: info.candidateType,
    protocol: info.protocol,
    qualityLimitation,
  };
  return { digest, snapshot: { at: nowMs, bytes, frames } };
}
