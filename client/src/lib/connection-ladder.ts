import type { LadderSettings, ModeReason, ViewerMode } from '../../../shared';
import type { PathOverride } from './path-override';
import { iceTransportPolicyFor } from './path-override';

/**
 * The per-viewer connection ladder as a pure state machine: WebRTC (direct or TURN, ICE
 * decides) → the WebSocket relay when no WebRTC media arrives in time → the public HLS mirror
 * when the relay is off or cannot play here → back up to WebRTC when a background retry gets
 * frames. The viewer can also choose HLS and come back. It owns no I/O: its inputs are method
 * calls and its outputs are calls on `LadderEffects`; timers come from an injected clock.
 */

export interface LadderClock {
  setTimeout(cb: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: LadderClock = {
  setTimeout: (cb, ms) => setTimeout(cb, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface OpenWebRtcRequest {
  iceTransportPolicy: RTCIceTransportPolicy;
  /**
   * True when the broadcaster's peer for us must be rebuilt (retry, override change): the
   * caller sends `request_offer` before opening the new link. False at join, where
   * `viewer_joined` already makes the broadcaster offer.
   */
  fresh: boolean;
  /** True for a background attempt while the relay plays: don't show it until frames flow. */
  background: boolean;
}

export interface LadderEffects {
  /** Replace any WebRTC link with a new one. */
  openWebRtc(req: OpenWebRtcRequest): void;
  closeWebRtc(): void;
  /** relay_subscribe {reason} and start a relay player. */
  openRelay(reason: ModeReason): void;
  /** Stop the relay player; `unsubscribe` sends relay_unsubscribe (not after a lost session). */
  closeRelay(unsubscribe: boolean): void;
  /** Play the public HLS mirror. */
  openHls(cause: HlsCause): void;
  closeHls(): void;
  /** sfu_subscribe {reason} and a WebRTC link to the server's SFU. */
  openSfu?(reason: ModeReason): void;
  /** Close the SFU link; `unsubscribe` sends sfu_unsubscribe. */
  closeSfu?(unsubscribe: boolean): void;
  onChange?(snapshot: LadderSnapshot): void;
}

export type LadderPhase =
  /** Not started, or stopped. */
  | 'idle'
  /** A WebRTC link is up and waiting for its first video frames (deadline armed). */
  | 'webrtc-trying'
  /** WebRTC video frames flow. */
  | 'webrtc'
  /** Media comes over the WebSocket relay (maybe with a background WebRTC trial). */
  | 'relay'
  /** The public HLS mirror plays (chosen, or the last rung; maybe with a WebRTC trial). */
  | 'hls'
  /** WebRTC to the server's SFU (forced by ?path=sfu, or overflow), deadline armed until frames. */
  | 'sfu';

/** Why the SFU did not work for this viewer: the reason shown on the next rung. */
export type SfuFailure =
  /** This browser cannot receive the room's codec over WebRTC (Firefox: no H.264). */
  | { kind: 'codec'; codec: string | null }
  /** The server refused (SFU off, full, no upstream) or the connection failed. */
  | { kind: 'unavailable' }
  /** Connected, but no video frames before the deadline. */
  | { kind: 'no-media' };

/**
 * Why we play HLS: the viewer chose it, the relay is off (or refused us), or the relay cannot
 * play in this browser (no WebCodecs, decoder refused the codec).
 */
export type HlsCause = 'chosen' | 'relay-off' | 'relay-unplayable';

export interface LadderSnapshot {
  phase: LadderPhase;
  /** Which stream the <video> shows. */
  active: 'webrtc' | 'relay' | 'hls' | 'sfu' | null;
  override: PathOverride;
  /** Why we are on the relay; null on WebRTC. */
  relayReason: ModeReason | null;
  /**
   * The broadcaster chose relay only (its ?path=relay; the join ack said relay/forced): no
   * WebRTC is tried at all, whatever our own override says.
   */
  broadcasterRelayOnly: boolean;
  /** WebRTC got no media in time and the relay is off: no path works. */
  noPath: boolean;
  /** A background WebRTC attempt is in flight while on the relay. */
  retrying: boolean;
  /** True once the relay player has decoded a frame. */
  relayPlaying: boolean;
  mediaTimeoutMs: number;
  relayAvailable: boolean;
  /** Why HLS plays; null off HLS. */
  hlsCause: HlsCause | null;
  /** The room's public HLS mirror is on. */
  hlsAvailable: boolean;
  /** False once the relay proved it cannot play here. */
  relayPlayable: boolean;
  /** Why we are on the SFU (forced, overflow, uplink_saturated); null off the SFU. */
  sfuReason?: ModeReason | null;
  /** The SFU failed for us (shown as the reason of the rung we went to); null if not. */
  sfuFailure?: SfuFailure | null;
  /** The SFU link decoded video. */
  sfuPlaying?: boolean;
  /**
   * The broadcaster's WebRTC offer has only video codecs this browser cannot decode (e.g. `H264`
   * in Firefox without OpenH264); null otherwise.
   */
  webRtcUndecodable: string | null;
}

export interface LadderJoinInfo {
  mode: ViewerMode;
  modeReason: ModeReason | null;
  relayAvailable: boolean;
  ladder: LadderSettings;
  broadcasterOnline: boolean;
  /** The join ack's `hlsMirror`. */
  hlsAvailable?: boolean;
  /** False when this browser has no WebCodecs decoder, so the relay cannot play here. */
  relayPlayable?: boolean;
}

export interface ConnectionLadderOptions {
  effects: LadderEffects;
  clock?: LadderClock;
  override?: PathOverride;
}

/** Fallbacks that a WebRTC retry could undo; overflow and saturation are the server's call. */
const RETRYABLE: ReadonlySet<ModeReason> = new Set(['fallback']);

export class ConnectionLadder {
  readonly #effects: LadderEffects;
  readonly #clock: LadderClock;
  #override: PathOverride;
  #phase: LadderPhase = 'idle';
  #relayReason: ModeReason | null = null;
  #broadcasterRelayOnly = false;
  #noPath = false;
  #retrying = false;
  #relayPlaying = false;
  #relayAvailable = false;
  #relayPlayable = true;
  #webRtcUndecodable: string | null = null;
  #hlsAvailable = false;
  /** The HLS player failed here: no automatic fallback to it (choosing it still works). */
  #hlsBroken = false;
  #hlsCause: HlsCause | null = null;
  /** The server put us on the relay at join (overflow, broadcaster relay only). */
  #joinRelayReason: ModeReason | null = null;
  /** The server put us on the SFU at join (overflow, saturated uplink). */
  #joinSfuReason: ModeReason | null = null;
  #sfuReason: ModeReason | null = null;
  #sfuFailure: SfuFailure | null = null;
  #sfuPlaying = false;
  #broadcasterOnline = true;
  #settings: LadderSettings = { mediaTimeoutMs: 8000, retryIntervalMs: 30_000 };
  #deadline: unknown = null;
  #retryTimer: unknown = null;

  constructor(opts: ConnectionLadderOptions) {
    this.#effects = opts.effects;
    this.#clock = opts.clock ?? realClock;
    this.#override = opts.override ?? 'auto';
  }

  get snapshot(): LadderSnapshot {
    return {
      phase: this.#phase,
      active:
        this.#phase === 'idle'
          ? null
          : this.#phase === 'relay' || this.#phase === 'hls' || this.#phase === 'sfu'
            ? this.#phase
            : 'webrtc',
      override: this.#override,
      relayReason: this.#relayReason,
      broadcasterRelayOnly: this.#broadcasterRelayOnly,
      noPath: this.#noPath,
      retrying: this.#retrying,
      relayPlaying: this.#relayPlaying,
      mediaTimeoutMs: this.#settings.mediaTimeoutMs,
      relayAvailable: this.#relayAvailable,
      hlsCause: this.#hlsCause,
      hlsAvailable: this.#hlsAvailable,
      relayPlayable: this.#relayPlayable,
      sfuReason: this.#sfuReason,
      sfuFailure: this.#sfuFailure,
      sfuPlaying: this.#sfuPlaying,
      webRtcUndecodable: this.#webRtcUndecodable,
    };
  }

  get override(): PathOverride {
    return this.#override;
  }

  /** Starts (or restarts after a rejoin) from a join ack. */
  start(join: LadderJoinInfo): void {
    this.#teardown(false);
    this.#settings = join.ladder;
    this.#relayAvailable = join.relayAvailable;
    this.#broadcasterOnline = join.broadcasterOnline;
    this.#hlsAvailable = join.hlsAvailable ?? false;
    this.#relayPlayable = join.relayPlayable ?? true;
    this.#hlsBroken = false;
    this.#noPath = false;
    this.#webRtcUndecodable = null;
    // At join the server only says `forced` when the broadcaster is relay only (ours comes later).
    this.#broadcasterRelayOnly = join.mode === 'relay' && join.modeReason === 'forced';
    this.#joinRelayReason = join.mode === 'relay' ? (join.modeReason ?? 'overflow') : null;
    this.#joinSfuReason = join.mode === 'sfu' ? (join.modeReason ?? 'overflow') : null;
    this.#sfuFailure = null;
    this.#enterDefault(false);
    this.#emit();
  }

  /** The first rung for this viewer, as at join: the server's relay mode, ?path=relay, or WebRTC. */
  #enterDefault(fresh: boolean): void {
    const sfuOk = this.#effects.openSfu !== undefined && this.#sfuFailure === null;
    if (sfuOk && this.#joinSfuReason !== null) {
      this.#enterSfu(this.#joinSfuReason);
    } else if (sfuOk && this.#override === 'sfu') {
      this.#enterSfu('forced');
    } else if (this.#joinRelayReason !== null && this.#relayAvailable) {
      // The server already counts us as a relay viewer (broadcaster relay only, overflow,
      // saturated uplink).
      if (this.#relayPlayable || !this.#canFallBackToHls()) {
        this.#enterRelay(this.#joinRelayReason);
      } else {
        this.#enterHls('relay-unplayable');
      }
    } else if (this.#override === 'relay' && this.#relayUsable()) {
      this.#enterRelay('forced');
    } else {
      // Forced relay without a relay degrades to WebRTC; the deadline reports "no path".
      this.#tryWebRtc(fresh);
    }
  }

  #relayUsable(): boolean {
    return this.#relayAvailable && this.#relayPlayable;
  }

  #canFallBackToHls(): boolean {
    return this.#hlsAvailable && !this.#hlsBroken;
  }

  /** The viewer pressed "Switch to HLS". */
  chooseHls(): void {
    if (this.#phase === 'idle' || !this.#hlsAvailable) return;
    if (this.#phase === 'hls') {
      this.#stopTrial();
      this.#clearRetry();
      this.#hlsCause = 'chosen';
      this.#emit();
      return;
    }
    this.#leaveCurrent();
    this.#hlsBroken = false;
    this.#enterHls('chosen');
    this.#emit();
  }

  /** The viewer left HLS ("Back to low latency"): climb the ladder again from the top. */
  leaveHls(): void {
    if (this.#phase !== 'hls') return;
    this.#exitHls();
    this.#emit();
  }

  /** stats_summary / join ack `hlsMirror`; switching the mirror off takes HLS viewers back. */
  setHlsAvailable(available: boolean): void {
    if (available === this.#hlsAvailable) return;
    this.#hlsAvailable = available;
    if (available) this.#hlsBroken = false;
    if (!available && this.#phase === 'hls') this.#exitHls();
    this.#emit();
  }

  /** The HLS player decoded video. */
  hlsFrames(): void {
    if (this.#phase !== 'hls' || this.#relayPlaying) return;
    // relayPlaying doubles as "the fallback's player shows frames".
    this.#relayPlaying = true;
    this.#emit();
  }

  /** The HLS player failed (fatal error) or reached ENDLIST: leave it and don't fall back to it. */
  hlsFailed(): void {
    if (this.#phase !== 'hls') return;
    this.#hlsBroken = true;
    this.#exitHls();
    this.#emit();
  }

  /** The relay player cannot decode here (no WebCodecs, codec refused): HLS if the mirror is on. */
  relayUnplayable(): void {
    this.#relayPlayable = false;
    if (this.#phase !== 'relay') {
      this.#emit();
      return;
    }
    if (this.#canFallBackToHls()) {
      this.#stopTrial();
      this.#clearRetry();
      this.#relayPlaying = false;
      this.#relayReason = null;
      this.#effects.closeRelay(true);
      this.#enterHls('relay-unplayable');
    } else {
      this.#noPath = true;
    }
    this.#emit();
  }

  /**
   * The broadcaster's offer carries only video codecs this browser cannot decode over WebRTC
   * (`codecs`, e.g. H264 in Firefox without OpenH264). Don't wait out the media deadline: take
   * the relay now (its WebCodecs decoder can), else the HLS mirror. No WebRTC retries follow,
   * since the same offer would come back; a new broadcaster (reclaim) clears this.
   */
  webRtcUndecodable(codecs: readonly string[]): void {
    this.#webRtcUndecodable = codecs.join('/') || 'video';
    if (this.#phase === 'webrtc-trying' || this.#phase === 'webrtc') {
      this.#clearDeadline();
      if (this.#relayUsable()) {
        this.#effects.closeWebRtc();
        this.#enterRelay('fallback', false);
      } else if (this.#canFallBackToHls()) {
        this.#effects.closeWebRtc();
        this.#enterHls(this.#relayAvailable ? 'relay-unplayable' : 'relay-off', false);
      } else {
        this.#noPath = true;
      }
    } else if ((this.#phase === 'relay' || this.#phase === 'hls') && this.#retrying) {
      this.#stopTrial();
      this.#clearRetry();
    }
    this.#emit();
  }

  /** The user changed ?path= / the hide-my-IP toggle mid-session. */
  setOverride(override: PathOverride): void {
    if (override === this.#override) return;
    this.#override = override;
    if (this.#phase === 'idle') return;
    if (override === 'sfu' || this.#phase === 'sfu') {
      // To or from the SFU: leave whatever plays and take the first rung again.
      this.#leaveCurrent();
      if (this.#phase === 'hls') this.#effects.closeHls();
      this.#hlsCause = null;
      this.#sfuFailure = null;
      this.#enterDefault(true);
      this.#emit();
      return;
    }
    if (this.#broadcasterRelayOnly && this.#phase === 'relay') {
      // The broadcaster makes no peer connections: no override can get us WebRTC.
      this.#emit();
      return;
    }
    if (this.#phase === 'hls') {
      // The viewer's choice of HLS stands; a fallback retries WebRTC with the new policy.
      if (this.#hlsCause !== 'chosen') {
        this.#stopTrial();
        this.#startTrial();
      }
      this.#emit();
      return;
    }
    if (override === 'relay' && this.#relayUsable()) {
      if (this.#phase === 'relay') {
        this.#stopTrial();
        this.#clearRetry();
        this.#relayReason = 'forced';
      } else {
        this.#clearDeadline();
        this.#effects.closeWebRtc();
        this.#enterRelay('forced');
      }
    } else if (this.#phase === 'relay') {
      if (this.#relayReason === 'forced') this.#relayReason = 'fallback';
      if (this.#relayReason !== null && RETRYABLE.has(this.#relayReason)) {
        // Keep showing the relay until the new WebRTC link's frames flow.
        this.#stopTrial();
        this.#startTrial();
      }
    } else {
      this.#tryWebRtc(true);
    }
    this.#emit();
  }

  /** The current WebRTC link decoded video frames. */
  webRtcFrames(): void {
    if (this.#phase === 'webrtc-trying') {
      this.#clearDeadline();
      this.#phase = 'webrtc';
      this.#noPath = false;
      this.#emit();
    } else if ((this.#phase === 'relay' || this.#phase === 'hls') && this.#retrying) {
      // Upgrade back: show WebRTC, then stop the relay or HLS.
      const from = this.#phase;
      this.#clearDeadline();
      this.#clearRetry();
      this.#retrying = false;
      this.#phase = 'webrtc';
      this.#relayReason = null;
      this.#hlsCause = null;
      this.#relayPlaying = false;
      if (from === 'relay') this.#effects.closeRelay(true);
      else this.#effects.closeHls();
      this.#emit();
    }
  }

  /** The SFU link decoded video frames. */
  sfuFrames(): void {
    if (this.#phase !== 'sfu' || this.#sfuPlaying) return;
    this.#clearDeadline();
    this.#sfuPlaying = true;
    this.#noPath = false;
    this.#emit();
  }

  /**
   * The SFU did not work (refused, codec, no media): the next rung that can play here, with the
   * failure as its reason: the relay, else HLS, else WebRTC to the broadcaster (a forced SFU).
   */
  sfuFailed(failure: SfuFailure): void {
    if (this.#phase !== 'sfu') return;
    this.#clearDeadline();
    this.#effects.closeSfu?.(failure.kind !== 'unavailable');
    this.#sfuFailure = failure;
    this.#sfuReason = null;
    this.#sfuPlaying = false;
    const overflow = this.#joinSfuReason;
    if (this.#relayUsable()) {
      this.#enterRelay(overflow ?? 'fallback');
    } else if (this.#canFallBackToHls()) {
      this.#enterHls(this.#relayAvailable ? 'relay-unplayable' : 'relay-off');
    } else if (overflow === null) {
      this.#tryWebRtc(true);
    } else {
      // Nothing else can play here: say so (the SFU stays the phase, closed).
      this.#noPath = true;
    }
    this.#emit();
  }

  /** The relay player decoded its first frame. */
  relayFrames(): void {
    if (this.#phase !== 'relay' || this.#relayPlaying) return;
    this.#relayPlaying = true;
    this.#emit();
  }

  /** relay_subscribe was refused: stay on (or go back to) WebRTC and say no path works. */
  relayFailed(): void {
    if (this.#phase !== 'relay') return;
    this.#clearRetry();
    this.#relayAvailable = false;
    this.#relayPlaying = false;
    this.#effects.closeRelay(false);
    if (this.#canFallBackToHls()) {
      this.#stopTrial();
      this.#relayReason = null;
      this.#enterHls('relay-off');
      this.#emit();
      return;
    }
    if (this.#retrying) {
      // Keep the trial link as the main one.
      this.#retrying = false;
      this.#phase = 'webrtc-trying';
      this.#relayReason = null;
      this.#armDeadline();
    } else {
      this.#relayReason = null;
      this.#tryWebRtc(true);
    }
    this.#noPath = true;
    this.#emit();
  }

  /** The broadcaster went away (reclaim grace) or came back; the media deadline pauses meanwhile. */
  setBroadcasterOnline(online: boolean): void {
    if (online === this.#broadcasterOnline) return;
    this.#broadcasterOnline = online;
    if (!online) this.#clearDeadline();
    else if (this.#phase === 'webrtc-trying' || (this.#phase === 'sfu' && !this.#sfuPlaying)) {
      this.#armDeadline();
    }
  }

  /**
   * A reclaimed room has a new broadcaster socket that offers to every viewer itself: open a
   * new WebRTC link (no request_offer). On the relay nothing changes.
   */
  broadcasterChanged(): void {
    this.#webRtcUndecodable = null;
    if (this.#phase === 'webrtc' || this.#phase === 'webrtc-trying') this.#tryWebRtc(false);
    else if ((this.#phase === 'relay' || this.#phase === 'hls') && this.#retrying) {
      this.#stopTrial();
    }
    this.#emit();
  }

  /** Stops everything. `unsubscribe` is false when the server already forgot us. */
  stop(unsubscribe = true): void {
    this.#teardown(unsubscribe);
    this.#emit();
  }

  #tryWebRtc(fresh: boolean): void {
    this.#phase = 'webrtc-trying';
    this.#effects.openWebRtc({
      iceTransportPolicy: iceTransportPolicyFor(this.#override),
      fresh,
      background: false,
    });
    this.#armDeadline();
  }

  #enterHls(cause: HlsCause, retry = true): void {
    this.#phase = 'hls';
    this.#hlsCause = cause;
    this.#relayPlaying = false;
    this.#effects.openHls(cause);
    // A fallback keeps looking for a better path; a choice is the viewer's to undo.
    if (cause !== 'chosen' && retry) this.#scheduleRetry();
  }

  /** Closes whatever plays now (before switching to HLS). */
  #leaveCurrent(): void {
    this.#clearDeadline();
    this.#clearRetry();
    if (this.#phase === 'sfu') {
      this.#effects.closeSfu?.(true);
      this.#sfuReason = null;
      this.#sfuPlaying = false;
    } else if (this.#phase === 'relay') {
      this.#effects.closeRelay(true);
      if (this.#retrying) this.#effects.closeWebRtc();
    } else if (this.#phase === 'webrtc' || this.#phase === 'webrtc-trying') {
      this.#effects.closeWebRtc();
    }
    this.#retrying = false;
    this.#relayReason = null;
    this.#relayPlaying = false;
    this.#noPath = false;
  }

  #exitHls(): void {
    this.#stopTrial();
    this.#clearRetry();
    this.#effects.closeHls();
    this.#hlsCause = null;
    this.#relayPlaying = false;
    this.#noPath = false;
    this.#enterDefault(true);
  }

  #enterSfu(reason: ModeReason): void {
    this.#phase = 'sfu';
    this.#sfuReason = reason;
    this.#sfuPlaying = false;
    this.#effects.openSfu?.(reason);
    this.#armDeadline();
  }

  #enterRelay(reason: ModeReason, retry = true): void {
    this.#phase = 'relay';
    this.#relayReason = reason;
    this.#relayPlaying = false;
    this.#effects.openRelay(reason);
    if (RETRYABLE.has(reason) && retry) this.#scheduleRetry();
  }

  #armDeadline(): void {
    this.#clearDeadline();
    if (!this.#broadcasterOnline) return;
    this.#deadline = this.#clock.setTimeout(() => {
      this.#deadline = null;
      this.#handleDeadline();
    }, this.#settings.mediaTimeoutMs);
  }

  #handleDeadline(): void {
    if (this.#phase === 'sfu') {
      this.sfuFailed({ kind: 'no-media' });
      return;
    }
    if (this.#phase === 'webrtc-trying') {
      if (!this.#relayUsable()) {
        if (this.#canFallBackToHls()) {
          // The last rung: the public mirror.
          this.#effects.closeWebRtc();
          this.#enterHls(this.#relayAvailable ? 'relay-unplayable' : 'relay-off');
        } else {
          this.#noPath = true;
        }
        this.#emit();
        return;
      }
      this.#effects.closeWebRtc();
      this.#enterRelay('fallback');
      this.#emit();
    } else if ((this.#phase === 'relay' || this.#phase === 'hls') && this.#retrying) {
      // The background attempt got nothing; stay on the relay (or HLS) and try later.
      this.#stopTrial();
      this.#scheduleRetry();
      this.#emit();
    }
  }

  #scheduleRetry(): void {
    this.#clearRetry();
    if (this.#settings.retryIntervalMs <= 0) return;
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = null;
      if ((this.#phase === 'relay' || this.#phase === 'hls') && !this.#retrying) {
        this.#startTrial();
        this.#emit();
      }
    }, this.#settings.retryIntervalMs);
  }

  #startTrial(): void {
    this.#clearRetry();
    this.#retrying = true;
    this.#effects.openWebRtc({
      iceTransportPolicy: iceTransportPolicyFor(this.#override),
      fresh: true,
      background: true,
    });
    this.#armDeadline();
  }

  #stopTrial(): void {
    this.#clearDeadline();
    if (this.#retrying) this.#effects.closeWebRtc();
    this.#retrying = false;
  }

  #teardown(unsubscribe: boolean): void {
    this.#clearDeadline();
    this.#clearRetry();
    if (this.#phase === 'sfu') this.#effects.closeSfu?.(unsubscribe);
    this.#sfuReason = null;
    this.#sfuPlaying = false;
    if (this.#phase === 'relay') this.#effects.closeRelay(unsubscribe);
    if (this.#phase === 'hls') this.#effects.closeHls();
    const onWebRtc = this.#phase === 'webrtc' || this.#phase === 'webrtc-trying';
    if (onWebRtc || (this.#phase !== 'idle' && this.#retrying)) this.#effects.closeWebRtc();
    this.#phase = 'idle';
    this.#relayReason = null;
    this.#hlsCause = null;
    this.#broadcasterRelayOnly = false;
    this.#retrying = false;
    this.#relayPlaying = false;
  }

  #clearDeadline(): void {
    if (this.#deadline !== null) this.#clock.clearTimeout(this.#deadline);
    this.#deadline = null;
  }

  #clearRetry(): void {
    if (this.#retryTimer !== null) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #emit(): void {
    this.#effects.onChange?.(this.snapshot);
  }
}
