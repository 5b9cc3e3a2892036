import {
  MEDIA_PATHS,
  type MediaPath,
  type PeerStatsDigest,
  type RoomCode,
  type StatsSummary,
  type ViewerSummary,
} from '../shared/index';

/** Reports older than this are ignored: the peer stopped reporting or left. */
export const STATS_STALE_MS = 5000;

/** The broadcaster's peers must be bandwidth-limited this long before new viewers overflow. */
export const UPLINK_SATURATED_MS = 10_000;

/**
 * A new peer connection reports qualityLimitationReason 'bandwidth' while its bandwidth estimate
 * ramps up, which says nothing about the uplink; such peers are left out of the saturation test.
 */
export const RAMP_UP_GRACE_MS = 15_000;

interface Timed<T> {
  at: number;
  value: T;
}

interface PeerReport extends Timed<PeerStatsDigest> {
  /** When the broadcaster first reported this peer. */
  firstAt: number;
}

interface RoomStats {
  /** Each viewer's own inbound digest. */
  viewerReports: Map<string, Timed<PeerStatsDigest>>;
  /** The broadcaster's outbound digest per viewer. */
  broadcasterPeers: Map<string, PeerReport>;
  broadcasterUpload: Timed<number> | undefined;
  /** Since when at least half of the broadcaster's peers report a bandwidth limit; else null. */
  bandwidthLimitedSince: number | null;
}

export interface SummaryInput {
  roomId: RoomCode;
  broadcasterOnline: boolean;
  /** The room's actual viewers: reports about anyone else are ignored. */
  viewers: Iterable<{ viewerId: string; joinedAt: number }>;
  /** Distinct recent readers of the room's HLS playlist (not room members). */
  hlsViewers?: number;
  hlsMirror?: boolean;
  /** Other watchers who are not room members, per path (e.g. WHEP players), from features. */
  audience?: ReadonlyArray<Partial<Record<MediaPath, number>>>;
}

const EMPTY_DIGEST: PeerStatsDigest = {
  path: 'direct',
  codec: '',
  bitrateKbps: 0,
  fps: 0,
  width: 0,
  height: 0,
  rttMs: null,
  lossPct: null,
  candidateType: null,
  protocol: null,
};

/**
 * Merges what each viewer says it receives with what the broadcaster says it sends. The
 * viewer's own numbers win for what it sees (bitrate, fps, resolution, loss, codec, path);
 * the broadcaster's fill gaps (RTT, quality limitation, or everything before the viewer reports).
 */
export class StatsAggregator {
  readonly #rooms = new Map<RoomCode, RoomStats>();
  readonly #now: () => number;
  readonly #staleMs: number;

  constructor(options: { now?: () => number; staleMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#staleMs = options.staleMs ?? STATS_STALE_MS;
  }

  recordViewerReport(roomId: RoomCode, viewerId: string, inbound: PeerStatsDigest): void {
    this.#room(roomId).viewerReports.set(viewerId, { at: this.#now(), value: inbound });
  }

  recordBroadcasterReport(
    roomId: RoomCode,
    totalUploadKbps: number,
    peers: ReadonlyArray<PeerStatsDigest & { viewerId: string }>,
    isViewer: (viewerId: string) => boolean,
  ): void {
    const room = this.#room(roomId);
    const at = this.#now();
    room.broadcasterUpload = { at, value: totalUploadKbps };
    let members = 0;
    let limited = 0;
    for (const { viewerId, ...digest } of peers) {
      // Only real members: a broadcaster can't grow the map with made-up ids.
      if (!isViewer(viewerId)) continue;
      const firstAt = room.broadcasterPeers.get(viewerId)?.firstAt ?? at;
      room.broadcasterPeers.set(viewerId, { at, value: digest, firstAt });
      if (at - firstAt < RAMP_UP_GRACE_MS) continue;
      members += 1;
      if (digest.qualityLimitation === 'bandwidth') limited += 1;
    }
    if (members > 0 && limited * 2 >= members) room.bandwidthLimitedSince ??= at;
    else room.bandwidthLimitedSince = null;
  }

  /**
   * The broadcaster's uplink is saturated: for UPLINK_SATURATED_MS, at least half of its settled
   * peer connections (past RAMP_UP_GRACE_MS) have reported qualityLimitationReason 'bandwidth', and
   * the reports are fresh.
   */
  isUplinkSaturated(roomId: RoomCode): boolean {
    const room = this.#rooms.get(roomId);
    if (!room || room.bandwidthLimitedSince === null || !room.broadcasterUpload) return false;
    const now = this.#now();
    if (now - room.broadcasterUpload.at > this.#staleMs) return false;
    return now - room.bandwidthLimitedSince >= UPLINK_SATURATED_MS;
  }

  removeViewer(roomId: RoomCode, viewerId: string): void {
    const room = this.#rooms.get(roomId);
    room?.viewerReports.delete(viewerId);
    room?.broadcasterPeers.delete(viewerId);
  }

  removeRoom(roomId: RoomCode): void {
    this.#rooms.delete(roomId);
  }

  summarize(input: SummaryInput): StatsSummary {
    const now = this.#now();
    const room = this.#rooms.get(input.roomId);
    const fresh = <T>(entry: Timed<T> | undefined): T | undefined =>
      entry && now - entry.at <= this.#staleMs ? entry.value : undefined;

    const pathCounts = Object.fromEntries(MEDIA_PATHS.map((p) => [p, 0])) as Record<
      MediaPath,
      number
    >;
    const viewers: ViewerSummary[] = [];
    for (const { viewerId, joinedAt } of input.viewers) {
      const own = fresh(room?.viewerReports.get(viewerId));
      const sent = fresh(room?.broadcasterPeers.get(viewerId));
      const base = own ?? sent;
      // A viewer with no stats yet is listed but not counted on any path.
      if (base) pathCounts[base.path] += 1;
      const merged: PeerStatsDigest = { ...EMPTY_DIGEST, ...base };
      merged.rttMs = own?.rttMs ?? sent?.rttMs ?? null;
      merged.lossPct = own?.lossPct ?? sent?.lossPct ?? null;
      merged.qualityLimitation = sent?.qualityLimitation ?? null;
      viewers.push({ ...merged, viewerId, joinedAt });
    }
    const upload = input.broadcasterOnline ? fresh(room?.broadcasterUpload) : undefined;
    const hlsViewers = input.hlsViewers ?? 0;
    pathCounts.hls += hlsViewers;
    let outsiders = hlsViewers;
    for (const counts of input.audience ?? []) {
      for (const path of MEDIA_PATHS) {
        pathCounts[path] += counts[path] ?? 0;
        outsiders += counts[path] ?? 0;
      }
    }
    return {
      roomId: input.roomId,
      at: now,
      // The whole audience: room members plus HLS readers and WHEP players (not in `viewers`).
      viewerCount: viewers.length + outsiders,
      hlsMirror: input.hlsMirror ?? false,
      pathCounts,
      broadcaster: { online: input.broadcasterOnline, uploadKbps: upload ?? 0 },
      viewers,
    };
  }

  #room(roomId: RoomCode): RoomStats {
    let room = this.#rooms.get(roomId);
    if (!room) {
      room = {
        viewerReports: new Map(),
        broadcasterPeers: new Map(),
        broadcasterUpload: undefined,
        bandwidthLimitedSince: null,
      };
      this.#rooms.set(roomId, room);
    }
    return room;
  }
}
