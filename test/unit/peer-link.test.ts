import { describe, expect, it, vi } from 'vitest';
import type { SignalRequest } from '../../shared/index';
import { MAX_PENDING_CANDIDATES, PeerLink } from '../../client/src/lib/peer-link';
import { setLogLevel } from '../../client/src/lib/logger';

setLogLevel('error');

const tick = () => new Promise((r) => setTimeout(r, 0));

/**
 * Just enough of RTCPeerConnection's signalling state machine (JSEP) for perfect negotiation:
 * parameterless setLocalDescription, implicit rollback on a colliding remote offer,
 * and addIceCandidate that needs a remote description. Every operation is async.
 */
class FakePeerConnection {
  static counter = 0;
  readonly name = `pc${++FakePeerConnection.counter}`;
  signalingState: RTCSignalingState = 'stable';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  addedCandidates: RTCIceCandidateInit[] = [];
  restartIceCalls = 0;
  closed = false;
  #offers = 0;
  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: ((ev: { candidate: Partial<RTCIceCandidate> | null }) => void) | null = null;
  ontrack: ((ev: unknown) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;

  async setLocalDescription(desc?: RTCSessionDescriptionInit): Promise<void> {
    await tick();
    if (desc?.type === 'rollback') {
      this.signalingState = 'stable';
      this.localDescription = null;
      return;
    }
    if (this.signalingState === 'have-remote-offer') {
      this.localDescription = { type: 'answer', sdp: `answer from ${this.name}` };
      this.signalingState = 'stable';
    } else if (this.signalingState === 'stable' || this.signalingState === 'have-local-offer') {
      this.localDescription = { type: 'offer', sdp: `offer ${++this.#offers} from ${this.name}` };
      this.signalingState = 'have-local-offer';
    } else {
      throw new DOMException('bad state', 'InvalidStateError');
    }
  }

  async setRemoteDescription(desc: RTCSessionDescriptionInit): Promise<void> {
    await tick();
    if (desc.type === 'offer') {
      // Implicit rollback of our own offer (what the polite peer relies on).
      if (this.signalingState === 'have-local-offer') this.localDescription = null;
      this.signalingState = 'have-remote-offer';
    } else if (desc.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') {
        throw new DOMException('answer in wrong state', 'InvalidStateError');
      }
      this.signalingState = 'stable';
    }
    this.remoteDescription = desc;
  }

  async addIceCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    await tick();
    if (!this.remoteDescription)
      throw new DOMException('no remote description', 'InvalidStateError');
    this.addedCandidates.push(candidate);
  }

  restartIce(): void {
    this.restartIceCalls++;
    this.onnegotiationneeded?.();
  }

  setConnectionState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }

  getStats(): Promise<Map<string, unknown>> {
    return Promise.resolve(new Map());
  }

  close(): void {
    this.closed = true;
    this.signalingState = 'closed';
  }
}

function makeLink(polite: boolean, send: (s: SignalRequest) => void, remoteId = 'remote') {
  let pc!: FakePeerConnection;
  const onStateChange = vi.fn();
  const link = new PeerLink({
    remoteId,
    polite,
    iceServers: [],
    send,
    onStateChange,
    createPeerConnection: () => {
      pc = new FakePeerConnection();
      return pc as unknown as RTCPeerConnection;
    },
  });
  return { link, pc, onStateChange };
}

async function settle(rounds = 20) {
  for (let i = 0; i < rounds; i++) await tick();
}

describe('PeerLink', () => {
  it('sends an offer addressed to the remote peer on negotiationneeded', async () => {
    const sent: SignalRequest[] = [];
    const { pc } = makeLink(false, (s) => sent.push(s), 'viewer-1');
    pc.onnegotiationneeded?.();
    await settle();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toBe('viewer-1');
    expect(sent[0]?.description?.type).toBe('offer');
  });

  it('answers an offer (polite viewer) and the answer completes the impolite side', async () => {
    const toViewer: SignalRequest[] = [];
    const toBroadcaster: SignalRequest[] = [];
    const b = makeLink(false, (s) => toViewer.push(s), 'v');
    const v = makeLink(true, (s) => toBroadcaster.push(s), 'b');
    b.pc.onnegotiationneeded?.();
    await settle();
    await v.link.handleSignal({ description: toViewer[0]?.description });
    expect(toBroadcaster[0]?.description?.type).toBe('answer');
    await b.link.handleSignal({ description: toBroadcaster[0]?.description });
    expect(b.pc.signalingState).toBe('stable');
    expect(v.pc.signalingState).toBe('stable');
  });

  it('resolves glare: the impolite offer wins, the polite side rolls back and answers', async () => {
    const toPolite: SignalRequest[] = [];
    const toImpolite: SignalRequest[] = [];
    const impolite = makeLink(false, (s) => toPolite.push(s));
    const polite = makeLink(true, (s) => toImpolite.push(s));
    // Both start negotiating at once.
    impolite.pc.onnegotiationneeded?.();
    polite.pc.onnegotiationneeded?.();
    await settle();
    expect(impolite.pc.signalingState).toBe('have-local-offer');
    expect(polite.pc.signalingState).toBe('have-local-offer');
    const impoliteOffer = toPolite.shift()!;
    const politeOffer = toImpolite.shift()!;
    // Impolite ignores the colliding offer; polite accepts the other one.
    await impolite.link.handleSignal({ description: politeOffer.description });
    expect(impolite.pc.signalingState).toBe('have-local-offer');
    await polite.link.handleSignal({ description: impoliteOffer.description });
    const answer = toImpolite.shift()!;
    expect(answer.description?.type).toBe('answer');
    await impolite.link.handleSignal({ description: answer.description });
    expect(impolite.pc.signalingState).toBe('stable');
    expect(polite.pc.signalingState).toBe('stable');
    expect(polite.pc.remoteDescription?.sdp).toBe(impoliteOffer.description?.sdp);
  });

  it('sends trickle candidates as they come and skips end-of-candidates', () => {
    const sent: SignalRequest[] = [];
    const { pc } = makeLink(true, (s) => sent.push(s), 'b');
    pc.onicecandidate?.({
      candidate: {
        candidate: 'candidate:1 1 udp 2122194687 192.0.2.2 46286 typ host',
        sdpMid: '0',
        sdpMLineIndex: 0,
        usernameFragment: 'Wof1',
      },
    });
    pc.onicecandidate?.({ candidate: null });
    pc.onicecandidate?.({ candidate: { candidate: '', sdpMid: '0', sdpMLineIndex: 0 } });
    expect(sent).toEqual([
      {
        to: 'b',
        candidate: {
          candidate: 'candidate:1 1 udp 2122194687 192.0.2.2 46286 typ host',
          sdpMid: '0',
          sdpMLineIndex: 0,
          usernameFragment: 'Wof1',
        },
      },
    ]);
  });

  it('buffers remote candidates until a remote description exists, then applies them in order', async () => {
    const { link, pc } = makeLink(true, () => undefined);
    await link.handleSignal({ candidate: { candidate: 'c1', sdpMid: '0' } });
    await link.handleSignal({ candidate: { candidate: 'c2', sdpMid: '0' } });
    expect(link.pendingCandidateCount).toBe(2);
    expect(pc.addedCandidates).toEqual([]);
    await link.handleSignal({ description: { type: 'offer', sdp: 'remote offer' } });
    expect(link.pendingCandidateCount).toBe(0);
    expect(pc.addedCandidates.map((c) => c.candidate)).toEqual(['c1', 'c2']);
    await link.handleSignal({ candidate: { candidate: 'c3', sdpMid: '0' } });
    expect(pc.addedCandidates.map((c) => c.candidate)).toEqual(['c1', 'c2', 'c3']);
  });

  it('bounds the candidate buffer, dropping the oldest', async () => {
    const { link, pc } = makeLink(true, () => undefined);
    const total = MAX_PENDING_CANDIDATES + 10;
    for (let i = 0; i < total; i++) {
      void link.handleSignal({ candidate: { candidate: `c${i}`, sdpMid: '0' } });
    }
    await link.handleSignal({ description: { type: 'offer', sdp: 'x' } });
    expect(pc.addedCandidates).toHaveLength(MAX_PENDING_CANDIDATES);
    expect(pc.addedCandidates[0]?.candidate).toBe('c10');
  });

  it('restarts ICE once on failed, not on disconnected, and reports every state', async () => {
    const sent: SignalRequest[] = [];
    const { pc, onStateChange } = makeLink(false, (s) => sent.push(s));
    pc.setConnectionState('disconnected');
    expect(pc.restartIceCalls).toBe(0);
    expect(pc.closed).toBe(false);
    pc.setConnectionState('failed');
    pc.setConnectionState('failed');
    expect(pc.restartIceCalls).toBe(1);
    await settle();
    expect(sent.filter((s) => s.description?.type === 'offer')).toHaveLength(1);
    expect(onStateChange.mock.calls.map((c) => c[0])).toEqual(['disconnected', 'failed', 'failed']);
  });

  it('never rejects on a bad signal', async () => {
    const { link } = makeLink(false, () => undefined);
    // An answer with no offer outstanding throws inside; handleSignal swallows it.
    await expect(
      link.handleSignal({ description: { type: 'answer', sdp: 'stray' } }),
    ).resolves.toBeUndefined();
  });

  it('close() closes the connection and ignores later signals', async () => {
    const sent: SignalRequest[] = [];
    const { link, pc } = makeLink(true, (s) => sent.push(s));
    link.close();
    expect(pc.closed).toBe(true);
    await link.handleSignal({ description: { type: 'offer', sdp: 'late' } });
    expect(sent).toEqual([]);
    expect(link.closed).toBe(true);
  });
});
