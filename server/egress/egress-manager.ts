import { appendFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import {
  hlsPlaylistPath,
  livePagePath,
  type EgressCapabilities,
  type EgressOutputStatus,
  type EgressStatus,
  type ErrorCode,
  type PublicStream,
  type RecordingEntry,
  type RoomCode,
} from '../../shared/index';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { EgressPort } from '../signalling';
import { buildFfmpegArgs, videoModeFor } from './ffmpeg-args';
import type { FfmpegProbe } from './ffmpeg-binary';
import { FfmpegPipeline, type PipelineStatus, type RelaySource } from './ffmpeg-pipeline';
import { hlsRoomDir, RECORDING_FILE, recordingPath } from './egress-paths';
import { HlsViewerCounter } from './hls-viewers';
import { RecordingWriter } from './recording-writer';
import { HLS_RESTART_POLICY, RTMP_RETRY_POLICY } from './restart-policy';

export interface RoomInfo {
  title: string;
  startedAt: number;
  viewerCount: number;
}

export interface EgressManagerDeps {
  config: Config['egress'];
  /** Egress rides on the relay upstream; with the relay off there is nothing to feed ffmpeg. */
  relayEnabled: boolean;
  ffmpeg: FfmpegProbe;
  hubFor: (roomId: RoomCode) => RelaySource;
  roomInfo: (roomId: RoomCode) => RoomInfo | null;
  /** Egress changed: tell the broadcaster, and re-send relay demand (H.264 preference). */
  onChange: (roomId: RoomCode, status: EgressStatus) => void;
  log: Logger;
  now?: () => number;
  /** An ffmpeg run died unexpectedly (metrics). */
  onFfmpegCrash?: () => void;
}

export type EgressResult =
  { ok: true; status: EgressStatus } | { ok: false; code: ErrorCode; message: string };

interface RoomEgress {
  roomId: RoomCode;
  hlsOn: boolean;
  hls: FfmpegPipeline | null;
  restreams: Map<string, FfmpegPipeline>;
  recording: RecordingWriter | null;
  recordingState: { state: EgressOutputStatus['state']; error: string | null };
}

const OFF: EgressOutputStatus = {
  state: 'off',
  error: null,
  restarts: 0,
  retryInMs: null,
  speed: null,
};

function outputStatus(p: PipelineStatus | undefined): EgressOutputStatus {
  if (!p) return OFF;
  return {
    state: p.state,
    error: p.error,
    restarts: p.restarts,
    retryInMs: p.retryInMs,
    speed: p.speed,
  };
}

/**
 * Egress for every room: the public HLS mirror, RTMP restreams to configured targets, and
 * recording. Each output is its own relay subscriber and its own ffmpeg, so a failing restream
 * never disturbs the mirror. Knows nothing of Socket.IO: signalling calls in, `onChange` calls out.
 */
export class EgressManager implements EgressPort {
  readonly #deps: EgressManagerDeps;
  readonly #now: () => number;
  readonly #rooms = new Map<RoomCode, RoomEgress>();
  readonly #hlsReaders: HlsViewerCounter;
  /** Rooms whose HLS directory is served: mirror on, or ended and within retention. */
  readonly #served = new Set<RoomCode>();
  readonly #retention = new Map<RoomCode, NodeJS.Timeout>();
  readonly #targets: Map<string, string>;
  /** Rooms whose outputs are still ending (close() waits for their ENDLIST). */
  readonly #ending = new Set<Promise<void>>();
  /** Recorders until their files are final (a room that ended may still be remuxing). */
  readonly #recorders = new Set<RecordingWriter>();

  constructor(deps: EgressManagerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#hlsReaders = new HlsViewerCounter({ now: this.#now });
    this.#targets = new Map(deps.config.rtmpTargets.map((t) => [t.name, t.url]));
  }

  /** Why egress can't run, or null when it can. */
  get unavailableReason(): string | null {
    if (!this.#deps.ffmpeg.available) return this.#deps.ffmpeg.reason;
    if (!this.#deps.relayEnabled) return 'the server relay is switched off';
    return null;
  }

  capabilities(): EgressCapabilities {
    const reason = this.unavailableReason;
    return {
      ffmpeg: reason === null,
      reason,
      hlsPolicy: this.#deps.config.hlsPolicy,
      restreamTargets: [...this.#targets.keys()],
      recording: this.#deps.config.recordDir !== null && this.#deps.relayEnabled,
    };
  }

  health() {
    const ffmpeg = this.#deps.ffmpeg;
    return {
      ffmpeg: ffmpeg.available
        ? { available: true, version: ffmpeg.version }
        : { available: false, reason: ffmpeg.reason },
      hls: { enabled: this.unavailableReason === null, policy: this.#deps.config.hlsPolicy },
      restream: { enabled: this.unavailableReason === null, targets: this.#targets.size },
      recording: { enabled: this.capabilities().recording },
      mirrors: [...this.#rooms.values()].filter((r) => r.hlsOn).length,
    };
  }

  // ---- EgressPort ------------------------------------------------------------------------

  mirrorOn(roomId: RoomCode): boolean {
    return this.#rooms.get(roomId)?.hlsOn ?? false;
  }

  hlsViewers(roomId: RoomCode): number {
    return this.#served.has(roomId) ? this.#hlsReaders.count(roomId) : 0;
  }

  /** Any egress on: the broadcaster's relay encoder should prefer H.264 (ffmpeg copies it). */
  wantsH264(roomId: RoomCode): boolean {
    const room = this.#rooms.get(roomId);
    return (
      room !== undefined &&
      (room.hls !== null || room.restreams.size > 0 || room.recording !== null)
    );
  }

  // ---- room lifecycle ----------------------------------------------------------------------

  /** A room went live (or was reclaimed): apply the server policy and recording. */
  roomStarted(roomId: RoomCode): void {
    const room = this.#room(roomId);
    if (this.unavailableReason === null && this.#deps.config.hlsPolicy === 'forced_on') {
      this.#startMirror(room);
    }
    if (this.capabilities().recording && !room.recording) this.#startRecording(room);
    this.#changed(room);
  }

  /** The broadcast ended: ENDLIST, stop restreams and recording, remove the mirror later. */
  async roomEnded(roomId: RoomCode): Promise<void> {
    const room = this.#rooms.get(roomId);
    if (!room) return;
    this.#rooms.delete(roomId);
    const ending = this.#stopAll(room).then(() => this.#scheduleRemoval(roomId));
    this.#ending.add(ending);
    await ending;
    this.#ending.delete(ending);
  }

  /** Server shutdown: end every output cleanly (ENDLIST), keep the files. */
  async close(): Promise<void> {
    const rooms = [...this.#rooms.values()];
    this.#rooms.clear();
    await Promise.all([...rooms.map((room) => this.#stopAll(room)), ...this.#ending]);
    for (const timer of this.#retention.values()) clearTimeout(timer);
    this.#retention.clear();
  }

  status(roomId: RoomCode): EgressStatus {
    const room = this.#rooms.get(roomId);
    const hls = outputStatus(room?.hls?.status);
    const on = room?.hlsOn ?? false;
    const restreams = [...this.#targets.keys()].map((name) => {
      const pipeline = room?.restreams.get(name);
      return { name, on: pipeline !== undefined, ...outputStatus(pipeline?.status) };
    });
    const transcoding =
      (room?.hls?.status.transcoding ?? false) ||
      [...(room?.restreams.values() ?? [])].some((p) => p.status.transcoding);
    return {
      roomId,
      capabilities: this.capabilities(),
      hls: {
        ...hls,
        state: this.unavailableReason !== null && !on ? 'unavailable' : hls.state,
        on,
        pageUrl: on ? livePagePath(roomId) : null,
        playlistUrl: on ? hlsPlaylistPath(roomId) : null,
      },
      restreams,
      recording: {
        ...OFF,
        state: room?.recordingState.state ?? 'off',
        error: room?.recordingState.error ?? null,
        on: room?.recording !== null && room?.recording !== undefined,
      },
      transcoding,
    };
  }

  setMirror(roomId: RoomCode, on: boolean): EgressResult {
    const reason = this.unavailableReason;
    if (reason !== null)
      return { ok: false, code: 'SERVER_BUSY', message: `HLS mirror unavailable: ${reason}` };
    const policy = this.#deps.config.hlsPolicy;
    if (policy !== 'optional' && on !== (policy === 'forced_on')) {
      return {
        ok: false,
        code: 'UNAUTHORIZED',
        message: `The server keeps the HLS mirror ${policy === 'forced_on' ? 'on' : 'off'}.`,
      };
    }
    const room = this.#room(roomId);
    if (on) this.#startMirror(room);
    else void this.#stopMirror(room);
    this.#changed(room);
    return { ok: true, status: this.status(roomId) };
  }

  setRestream(roomId: RoomCode, name: string, on: boolean): EgressResult {
    const reason = this.unavailableReason;
    if (reason !== null)
      return { ok: false, code: 'SERVER_BUSY', message: `Restream unavailable: ${reason}` };
    const url = this.#targets.get(name);
    if (url === undefined) {
      return { ok: false, code: 'INVALID_PAYLOAD', message: 'No restream target by that name.' };
    }
    const room = this.#room(roomId);
    const running = room.restreams.get(name);
    if (on && !running) {
      const log = this.#deps.log.child({ room: roomId, output: 'rtmp', target: name });
      const redact = (line: string) =>
        line
          .split(url)
          .join(`<${name}>`)
          .replace(/rtmps?:\/\/\S+/g, `<${name}>`);
      const pipeline = new FfmpegPipeline({
        id: `egress:rtmp:${name}`,
        source: this.#deps.hubFor(roomId),
        ffmpegPath: this.#deps.ffmpeg.path,
        buildArgs: (source) => {
          const mode = videoModeFor(source.videoCodec);
          return {
            transcoding: mode === 'transcode',
            args: buildFfmpegArgs({
              output: { kind: 'rtmp', url },
              video: { mode, bitrateKbps: this.#deps.config.transcodeKbps, keyframeSeconds: 2 },
              hasAudio: source.hasAudio,
            }),
          };
        },
        policy: RTMP_RETRY_POLICY,
        failureState: 'retrying',
        stoppedState: 'off',
        log,
        redact,
        onStatus: () => this.#changed(room),
        onCrash: this.#deps.onFfmpegCrash,
      });
      room.restreams.set(name, pipeline);
      pipeline.start();
    } else if (!on && running) {
      room.restreams.delete(name);
      void running.stop().then(() => this.#changed(room));
    }
    this.#changed(room);
    return { ok: true, status: this.status(roomId) };
  }

  // ---- HTTP side ---------------------------------------------------------------------------

  /** The room's HLS directory may be served (mirror on, or ended within retention). */
  isServed(roomId: RoomCode): boolean {
    return this.#served.has(roomId);
  }

  recordHlsRead(roomId: RoomCode, readerKey: string): void {
    if (this.#rooms.get(roomId)?.hlsOn) this.#hlsReaders.record(roomId, readerKey);
  }

  get hlsRoot(): string {
    return this.#deps.config.hlsDir;
  }

  publicStreams(): PublicStream[] {
    const out: PublicStream[] = [];
    for (const room of this.#rooms.values()) {
      if (!room.hlsOn) continue;
      const info = this.#deps.roomInfo(room.roomId);
      if (!info) continue;
      out.push({
        roomId: room.roomId,
        title: info.title,
        startedAt: info.startedAt,
        viewerCount: info.viewerCount + this.hlsViewers(room.roomId),
        pageUrl: livePagePath(room.roomId),
        playlistUrl: hlsPlaylistPath(room.roomId),
        live: room.hls?.status.state === 'live',
      });
    }
    return out.sort((a, b) => b.viewerCount - a.viewerCount || a.startedAt - b.startedAt);
  }

  get recordDir(): string | null {
    return this.#deps.config.recordDir;
  }

  async recordings(): Promise<RecordingEntry[]> {
    const dir = this.#deps.config.recordDir;
    if (!dir) return [];
    const active = new Map<string, number>();
    for (const writer of this.#recorders) {
      for (const f of writer.files) if (f.endedAt === null) active.set(f.name, f.startedAt);
    }
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const entries: RecordingEntry[] = [];
    for (const name of names) {
      const m = RECORDING_FILE.exec(name);
      const path = recordingPath(dir, name);
      if (!m || !path) continue;
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) continue;
      const startedAt = active.get(name) ?? info.birthtimeMs;
      entries.push({
        name,
        roomId: m[1] as RoomCode,
        bytes: info.size,
        startedAt: Math.round(startedAt || info.mtimeMs),
        endedAt: active.has(name) ? null : Math.round(info.mtimeMs),
        downloadUrl: `/api/recordings/${encodeURIComponent(name)}`,
      });
    }
    return entries.sort((a, b) => b.startedAt - a.startedAt);
  }

  // ---- internals -----------------------------------------------------------------------------

  #room(roomId: RoomCode): RoomEgress {
    let room = this.#rooms.get(roomId);
    if (!room) {
      room = {
        roomId,
        hlsOn: false,
        hls: null,
        restreams: new Map(),
        recording: null,
        recordingState: { state: 'off', error: null },
      };
      this.#rooms.set(roomId, room);
    }
    return room;
  }

  #startMirror(room: RoomEgress): void {
    if (room.hlsOn) return;
    const dir = hlsRoomDir(this.#deps.config.hlsDir, room.roomId);
    if (!dir) return;
    room.hlsOn = true;
    const timer = this.#retention.get(room.roomId);
    if (timer) clearTimeout(timer);
    this.#retention.delete(room.roomId);
    this.#served.add(room.roomId);
    const { config } = this.#deps;
    const pipeline = new FfmpegPipeline({
      id: 'egress:hls',
      source: this.#deps.hubFor(room.roomId),
      ffmpegPath: this.#deps.ffmpeg.path,
      prepare: async (restart) => {
        // A fresh mirror starts clean; a restart appends to the playlist (discontinuity).
        if (!restart) await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
      },
      buildArgs: (source, restart) => {
        const mode = videoModeFor(source.videoCodec);
        return {
          transcoding: mode === 'transcode',
          args: buildFfmpegArgs({
            output: {
              kind: 'hls',
              dir,
              segmentSeconds: config.hlsSegmentSeconds,
              listSize: config.hlsListSize,
              append: restart,
            },
            video: {
              mode,
              bitrateKbps: config.transcodeKbps,
              keyframeSeconds: config.hlsSegmentSeconds,
            },
            hasAudio: source.hasAudio,
          }),
        };
      },
      policy: HLS_RESTART_POLICY,
      failureState: 'restarting',
      stoppedState: 'ended',
      log: this.#deps.log.child({ room: room.roomId, output: 'hls' }),
      onStatus: () => this.#changed(room),
      onCrash: this.#deps.onFfmpegCrash,
    });
    room.hls = pipeline;
    pipeline.start();
  }

  async #stopMirror(room: RoomEgress): Promise<void> {
    const pipeline = room.hls;
    room.hlsOn = false;
    room.hls = null;
    this.#hlsReaders.forget(room.roomId);
    if (pipeline) {
      await pipeline.stop();
      await this.#ensureEndlist(room.roomId);
    }
    this.#changed(room);
    this.#scheduleRemoval(room.roomId);
  }

  /** If ffmpeg was down when the mirror ended, its playlist still needs ENDLIST. */
  async #ensureEndlist(roomId: RoomCode): Promise<void> {
    const dir = hlsRoomDir(this.#deps.config.hlsDir, roomId);
    if (!dir) return;
    const playlist = `${dir}/index.m3u8`;
    const text = await readFile(playlist, 'utf8').catch(() => null);
    if (text !== null && !text.includes('#EXT-X-ENDLIST')) {
      await appendFile(playlist, `${text.endsWith('\n') ? '' : '\n'}#EXT-X-ENDLIST\n`);
    }
  }

  #scheduleRemoval(roomId: RoomCode): void {
    if (this.#rooms.get(roomId)?.hlsOn) return;
    const existing = this.#retention.get(roomId);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.#retention.delete(roomId);
      if (this.#rooms.get(roomId)?.hlsOn) return;
      this.#served.delete(roomId);
      const dir = hlsRoomDir(this.#deps.config.hlsDir, roomId);
      if (dir) void rm(dir, { recursive: true, force: true });
    }, this.#deps.config.hlsRetentionMs);
    timer.unref?.();
    this.#retention.set(roomId, timer);
  }

  #startRecording(room: RoomEgress): void {
    const dir = this.#deps.config.recordDir;
    if (!dir) return;
    const writer = new RecordingWriter({
      roomId: room.roomId,
      dir,
      source: this.#deps.hubFor(room.roomId),
      log: this.#deps.log.child({ room: room.roomId, output: 'record' }),
      ffmpegPath: this.#deps.ffmpeg.available ? this.#deps.ffmpeg.path : null,
      onStatus: (state, error) => {
        room.recordingState = { state, error };
        this.#changed(room);
      },
      now: this.#now,
    });
    room.recording = writer;
    this.#recorders.add(writer);
    writer.start().catch((err: unknown) => {
      room.recordingState = { state: 'retrying', error: 'cannot create the recording folder' };
      this.#deps.log.warn({ err: (err as Error).message }, 'recording failed to start');
      this.#changed(room);
    });
  }

  async #stopAll(room: RoomEgress): Promise<void> {
    const work: Promise<unknown>[] = [];
    if (room.hls) work.push(this.#stopMirror(room));
    for (const p of room.restreams.values()) work.push(p.stop());
    room.restreams.clear();
    const recording = room.recording;
    if (recording) work.push(recording.stop().finally(() => this.#recorders.delete(recording)));
    room.recording = null;
    await Promise.all(work.map((p) => p.catch(() => undefined)));
  }

  #changed(room: RoomEgress): void {
    if (this.#rooms.get(room.roomId) !== room) return;
    this.#deps.onChange(room.roomId, this.status(room.roomId));
  }
}
