import type { SignalMessage, SignalRequest } from '../../../shared';
import { createLogger, type Logger } from './logger';

/** Candidates that arrive before any remote description wait here; past this, the oldest go. */
export const MAX_PENDING_CANDIDATES = 64;

export interface PeerLinkOptions {
  /** The other side's clientId: every outgoing signal is addressed to it. */
  remoteId: string;
  /** Perfect negotiation role: the polite peer yields on offer collisions. */
  polite: boolean;
  iceServers: RTCIceServer[];
  /** 'relay' forces TURN (hides the host and server-reflexive addresses). Default 'all'. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  send: (signal: SignalRequest) => void;
  onTrack?: (event: RTCTrackEvent) => void;
  onStateChange?: (state: RTCPeerConnectionState) => void;
  /** Test seam: builds the RTCPeerConnection. */
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  logger?: Logger;
}

function toDescriptionSignal(description: RTCSessionDescription | null) {
  if (!description) return null;
  return { type: description.type, sdp: description.sdp };
}

/**
 * A typed wrapper around one RTCPeerConnection using the perfect negotiation pattern
 * (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example) with trickle ICE.
 * Either side may renegotiate; collisions resolve by role. On ICE `failed` it restarts ICE
 * once; `disconnected` is left alone because it often heals by itself.
 */
export class PeerLink {
  readonly pc: RTCPeerConnection;
  readonly remoteId: string;
  readonly polite: boolean;
  readonly #opts: PeerLinkOptions;
  readonly #log: Logger;
  #makingOffer = false;
  #ignoreOffer = false;
  #isSettingRemoteAnswerPending = false;
  #pendingCandidates: RTCIceCandidateInit[] = [];
  #iceRestarted = false;
  #closed = false;
  /** Signals are applied one at a time, in arrival order. */
  #signalChain: Promise<void> = Promise.resolve();

  constructor(opts: PeerLinkOptions) {
    this.#opts = opts;
    this.remoteId = opts.remoteId;
    this.polite = opts.polite;
    this.#log = opts.logger ?? createLogger(`peer:${opts.remoteId.slice(0, 6)}`);
    const config: RTCConfiguration = {
      iceServers: opts.iceServers,
      bundlePolicy: 'max-bundle',
      ...(opts.iceTransportPolicy ? { iceTransportPolicy: opts.iceTransportPolicy } : {}),
    };
    this.pc = opts.createPeerConnection
      ? opts.createPeerConnection(config)
      : new RTCPeerConnection(config);

    this.pc.onnegotiationneeded = () => void this.#negotiate();
    this.pc.onicecandidate = ({ candidate }) => {
      // End-of-candidates (null / empty) is implied by the SDP; not worth a message.
      if (!candidate || !candidate.candidate || this.#closed) return;
      this.#send({
        to: this.remoteId,
        candidate: {
          candidate: candidate.candidate,
          sdpMid: candidate.sdpMid,
          sdpMLineIndex: candidate.sdpMLineIndex,
          usernameFragment: candidate.usernameFragment,
        },
      });
    };
    this.pc.ontrack = (event) => opts.onTrack?.(event);
    this.pc.onconnectionstatechange = () => this.#handleConnectionState();
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** How many remote candidates are waiting for a remote description. */
  get pendingCandidateCount(): number {
    return this.#pendingCandidates.length;
  }

  /** Applies an incoming description or candidate. Never rejects. */
  handleSignal(msg: Pick<SignalMessage, 'description' | 'candidate'>): Promise<void> {
    const next = this.#signalChain.then(() => this.#applySignal(msg));
    this.#signalChain = next.catch(() => undefined);
    return this.#signalChain;
  }

  getStats(): Promise<RTCStatsReport> {
    return this.pc.getStats();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pendingCandidates = [];
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }

  async #negotiate(): Promise<void> {
    if (this.#closed) return;
    try {
      this.#makingOffer = true;
      // Parameterless setLocalDescription creates the right offer (or answer) itself.
      await this.pc.setLocalDescription();
      const description = toDescriptionSignal(this.pc.localDescription);
      if (description && !this.#closed) {
        this.#log.debug('sending', description.type);
        this.#send({ to: this.remoteId, description });
      }
    } catch (err) {
      this.#log.warn('negotiation failed', err);
    } finally {
      this.#makingOffer = false;
    }
  }

  async #applySignal(msg: Pick<SignalMessage, 'description' | 'candidate'>): Promise<void> {
    if (this.#closed) return;
    const { description, candidate } = msg;
    try {
      if (description) {
        await this.#applyDescription(description);
      } else if (candidate) {
        await this.#applyCandidate(candidate);
      }
    } catch (err) {
      this.#log.warn('signal failed', err);
    }
  }

  async #applyDescription(description: RTCSessionDescriptionInit): Promise<void> {
    const readyForOffer =
      !this.#makingOffer &&
      (this.pc.signalingState === 'stable' || this.#isSettingRemoteAnswerPending);
    const offerCollision = description.type === 'offer' && !readyForOffer;
    this.#ignoreOffer = !this.polite && offerCollision;
    if (this.#ignoreOffer) {
      this.#log.debug('ignoring colliding offer (impolite)');
      return;
    }
    this.#isSettingRemoteAnswerPending = description.type === 'answer';
    try {
      // On a collision the polite side's setRemoteDescription rolls back its own offer implicitly.
      await this.pc.setRemoteDescription(description);
    } finally {
      this.#isSettingRemoteAnswerPending = false;
    }
    if (this.#closed) return;
    await this.#flushPendingCandidates();
    if (description.type === 'offer') {
      await this.pc.setLocalDescription();
      const answer = toDescriptionSignal(this.pc.localDescription);
      if (answer && !this.#closed) this.#send({ to: this.remoteId, description: answer });
    }
  }

  async #applyCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (!this.pc.remoteDescription) {
      if (this.#pendingCandidates.length >= MAX_PENDING_CANDIDATES) this.#pendingCandidates.shift();
      this.#pendingCandidates.push(candidate);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      // Candidates for an offer we ignored are expected to fail.
      if (!this.#ignoreOffer) this.#log.debug('addIceCandidate failed', err);
    }
  }

  async #flushPendingCandidates(): Promise<void> {
    const pending = this.#pendingCandidates;
    this.#pendingCandidates = [];
    for (const candidate of pending) {
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (err) {
        this.#log.debug('buffered candidate rejected', err);
      }
    }
  }

  #handleConnectionState(): void {
    const state = this.pc.connectionState;
    this.#log.debug('connection state', state);
    if (state === 'failed' && !this.#iceRestarted && !this.#closed) {
      this.#iceRestarted = true;
      this.#log.warn('ICE failed; restarting ICE once');
      // Fires negotiationneeded; the offer carries new ICE credentials.
      this.pc.restartIce();
    }
    this.#opts.onStateChange?.(state);
  }

  #send(signal: SignalRequest): void {
    try {
      this.#opts.send(signal);
    } catch (err) {
      this.#log.warn('send failed', err);
    }
  }
}
