import { beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectionLadder,
  type HlsCause,
  type LadderClock,
  type LadderEffects,
  type LadderJoinInfo,
  type LadderSnapshot,
  type OpenWebRtcRequest,
} from '../../client/src/lib/connection-ladder';
import type { ModeReason } from '../../shared/index';

/** A manual clock: timers fire only when the test advances it. */
class ManualClock implements LadderClock {
  now = 0;
  #next = 1;
  readonly timers = new Map<number, { at: number; cb: () => void }>();
  setTimeout(cb: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.set(id, { at: this.now + ms, cb });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].cb();
    }
    this.now = end;
  }
}

type Effect =
  | ['openWebRtc', OpenWebRtcRequest]
  | ['closeWebRtc']
  | ['openRelay', ModeReason]
  | ['closeRelay', boolean]
  | ['openHls', HlsCause]
  | ['closeHls'];

class RecordingEffects implements LadderEffects {
  log: Effect[] = [];
  last: LadderSnapshot | null = null;
  openWebRtc(req: OpenWebRtcRequest) {
    this.log.push(['openWebRtc', req]);
  }
  closeWebRtc() {
    this.log.push(['closeWebRtc']);
  }
  openRelay(reason: ModeReason) {
    this.log.push(['openRelay', reason]);
  }
  closeRelay(unsubscribe: boolean) {
    this.log.push(['closeRelay', unsubscribe]);
  }
  openHls(cause: HlsCause) {
    this.log.push(['openHls', cause]);
  }
  closeHls() {
    this.log.push(['closeHls']);
  }
  onChange(snapshot: LadderSnapshot) {
    this.last = snapshot;
  }
  take(): Effect[] {
    const out = this.log;
    this.log = [];
    return out;
  }
}

const JOIN: LadderJoinInfo = {
  mode: 'webrtc',
  modeReason: null,
  relayAvailable: true,
  ladder: { mediaTimeoutMs: 8000, retryIntervalMs: 30_000 },
  broadcasterOnline: true,
};

const AUTO_OPEN: Effect = [
  'openWebRtc',
  { iceTransportPolicy: 'all', fresh: false, background: false },
];
const RETRY_OPEN: Effect = [
  'openWebRtc',
  { iceTransportPolicy: 'all', fresh: true, background: true },
];

describe('ConnectionLadder', () => {
  let clock: ManualClock;
  let effects: RecordingEffects;
  let ladder: ConnectionLadder;

  beforeEach(() => {
    clock = new ManualClock();
    effects = new RecordingEffects();
    ladder = new ConnectionLadder({ effects, clock });
  });

  it('auto: opens WebRTC with every ICE candidate type and stays when frames arrive in time', () => {
    ladder.start(JOIN);
    expect(effects.take()).toEqual([AUTO_OPEN]);
    expect(ladder.snapshot.phase).toBe('webrtc-trying');
    clock.advance(7999);
    ladder.webRtcFrames();
    expect(ladder.snapshot).toMatchObject({ phase: 'webrtc', active: 'webrtc', relayReason: null });
    clock.advance(60_000);
    expect(effects.take()).toEqual([]);
    expect(clock.timers.size).toBe(0);
  });

  it('falls back to the relay when no frames arrive by the deadline', () => {
    ladder.start(JOIN);
    effects.take();
    clock.advance(7999);
    expect(effects.take()).toEqual([]);
    clock.advance(1);
    expect(effects.take()).toEqual([['closeWebRtc'], ['openRelay', 'fallback']]);
    expect(ladder.snapshot).toMatchObject({
      phase: 'relay',
      active: 'relay',
      relayReason: 'fallback',
      relayPlaying: false,
    });
    ladder.relayFrames();
    expect(effects.last?.relayPlaying).toBe(true);
  });

  it('retries WebRTC every retryIntervalMs while on the relay and stays there on failure', () => {
    ladder.start(JOIN);
    clock.advance(8000);
    effects.take();
    clock.advance(29_999);
    expect(effects.take()).toEqual([]);
    clock.advance(1);
    expect(effects.take()).toEqual([RETRY_OPEN]);
    expect(ladder.snapshot).toMatchObject({ phase: 'relay', active: 'relay', retrying: true });
    // The trial gets its own media deadline; no frames → close it, keep the relay.
    clock.advance(8000);
    expect(effects.take()).toEqual([['closeWebRtc']]);
    expect(ladder.snapshot).toMatchObject({ phase: 'relay', retrying: false });
    clock.advance(30_000);
    expect(effects.take()).toEqual([RETRY_OPEN]);
  });

  it('upgrades back to WebRTC when a retry gets frames, and unsubscribes from the relay', () => {
    ladder.start(JOIN);
    clock.advance(8000 + 30_000);
    effects.take();
    clock.advance(2000);
    ladder.webRtcFrames();
    expect(effects.take()).toEqual([['closeRelay', true]]);
    expect(ladder.snapshot).toMatchObject({
      phase: 'webrtc',
      active: 'webrtc',
      relayReason: null,
      retrying: false,
    });
    // No timers left: no more retries, no stale deadline.
    expect(clock.timers.size).toBe(0);
  });

  it('ignores stray frame signals while nothing is being tried', () => {
    ladder.start(JOIN);
    clock.advance(8000);
    effects.take();
    ladder.webRtcFrames(); // a late frame from the closed link
    expect(effects.take()).toEqual([]);
    expect(ladder.snapshot.active).toBe('relay');
  });

  it('stays on WebRTC and reports no path when the relay is off', () => {
    ladder.start({ ...JOIN, relayAvailable: false });
    effects.take();
    clock.advance(8000);
    expect(effects.take()).toEqual([]);
    expect(ladder.snapshot).toMatchObject({
      phase: 'webrtc-trying',
      active: 'webrtc',
      noPath: true,
    });
    // Late media still wins.
    ladder.webRtcFrames();
    expect(ladder.snapshot).toMatchObject({ phase: 'webrtc', noPath: false });
  });

  it('?path=turn: every WebRTC attempt asks for relay-only ICE', () => {
    ladder = new ConnectionLadder({ effects, clock, override: 'turn' });
    ladder.start(JOIN);
    expect(effects.take()).toEqual([
      ['openWebRtc', { iceTransportPolicy: 'relay', fresh: false, background: false }],
    ]);
    clock.advance(8000 + 30_000);
    expect(effects.take()).toEqual([
      ['closeWebRtc'],
      ['openRelay', 'fallback'],
      ['openWebRtc', { iceTransportPolicy: 'relay', fresh: true, background: true }],
    ]);
  });

  it('?path=relay: straight to the relay, no WebRTC and no retries', () => {
    ladder = new ConnectionLadder({ effects, clock, override: 'relay' });
    ladder.start(JOIN);
    expect(effects.take()).toEqual([['openRelay', 'forced']]);
    expect(ladder.snapshot).toMatchObject({ active: 'relay', relayReason: 'forced' });
    clock.advance(10 * 60_000);
    expect(effects.take()).toEqual([]);
    expect(clock.timers.size).toBe(0);
  });

  it('?path=relay without a relay degrades to WebRTC and says why', () => {
    ladder = new ConnectionLadder({ effects, clock, override: 'relay' });
    ladder.start({ ...JOIN, relayAvailable: false });
    expect(effects.take()).toEqual([AUTO_OPEN]);
    clock.advance(8000);
    expect(ladder.snapshot.noPath).toBe(true);
  });

  it.each(['overflow', 'uplink_saturated'] as const)(
    'join mode relay (%s) goes straight to the relay and never retries',
    (reason) => {
      ladder.start({ ...JOIN, mode: 'relay', modeReason: reason });
      expect(effects.take()).toEqual([['openRelay', reason]]);
      expect(ladder.snapshot).toMatchObject({ active: 'relay', relayReason: reason });
      clock.advance(10 * 60_000);
      expect(effects.take()).toEqual([]);
    },
  );

  it('a relay-only broadcaster (join relay/forced) goes straight to the relay, no WebRTC ever', () => {
    ladder.start({ ...JOIN, mode: 'relay', modeReason: 'forced' });
    expect(effects.take()).toEqual([['openRelay', 'forced']]);
    expect(ladder.snapshot).toMatchObject({
      active: 'relay',
      relayReason: 'forced',
      broadcasterRelayOnly: true,
    });
    clock.advance(10 * 60_000);
    // The viewer's own overrides cannot reach a broadcaster that makes no peer connections.
    ladder.setOverride('turn');
    ladder.setOverride('auto');
    clock.advance(10 * 60_000);
    expect(effects.take()).toEqual([]);
    expect(ladder.snapshot).toMatchObject({ relayReason: 'forced', broadcasterRelayOnly: true });
    ladder.stop();
    expect(ladder.snapshot.broadcasterRelayOnly).toBe(false);
  });

  it("the viewer's own ?path=relay is not the broadcaster's choice", () => {
    ladder = new ConnectionLadder({ effects, clock, override: 'relay' });
    ladder.start(JOIN);
    expect(effects.take()).toEqual([['openRelay', 'forced']]);
    expect(ladder.snapshot).toMatchObject({ relayReason: 'forced', broadcasterRelayOnly: false });
  });

  it('pauses the media deadline while the broadcaster is away', () => {
    ladder.start({ ...JOIN, broadcasterOnline: false });
    effects.take();
    clock.advance(60_000);
    expect(ladder.snapshot.phase).toBe('webrtc-trying');
    ladder.setBroadcasterOnline(true);
    clock.advance(7999);
    expect(effects.take()).toEqual([]);
    ladder.setBroadcasterOnline(false);
    clock.advance(60_000);
    expect(effects.take()).toEqual([]);
    ladder.setBroadcasterOnline(true);
    clock.advance(8000);
    expect(effects.take()).toEqual([['closeWebRtc'], ['openRelay', 'fallback']]);
  });

  it('a refused relay_subscribe puts the viewer back on WebRTC with a no-path message', () => {
    ladder.start(JOIN);
    clock.advance(8000);
    effects.take();
    ladder.relayFailed();
    expect(effects.take()).toEqual([
      ['closeRelay', false],
      ['openWebRtc', { iceTransportPolicy: 'all', fresh: true, background: false }],
    ]);
    expect(ladder.snapshot).toMatchObject({
      phase: 'webrtc-trying',
      noPath: true,
      relayAvailable: false,
    });
    clock.advance(60_000);
    expect(effects.take()).toEqual([]);
  });

  it('switching the override mid-session reopens WebRTC with the new policy', () => {
    ladder.start(JOIN);
    ladder.webRtcFrames();
    effects.take();
    ladder.setOverride('turn');
    expect(effects.take()).toEqual([
      ['openWebRtc', { iceTransportPolicy: 'relay', fresh: true, background: false }],
    ]);
    ladder.setOverride('relay');
    expect(effects.take()).toEqual([['closeWebRtc'], ['openRelay', 'forced']]);
    // Leaving forced relay: keep playing the relay until the new WebRTC link has frames.
    ladder.setOverride('auto');
    expect(effects.take()).toEqual([RETRY_OPEN]);
    expect(ladder.snapshot).toMatchObject({ active: 'relay', retrying: true });
    ladder.webRtcFrames();
    expect(effects.take()).toEqual([['closeRelay', true]]);
    expect(ladder.snapshot.active).toBe('webrtc');
  });

  it('a new broadcaster socket gets a new link without request_offer', () => {
    ladder.start(JOIN);
    ladder.webRtcFrames();
    effects.take();
    ladder.broadcasterChanged();
    expect(effects.take()).toEqual([AUTO_OPEN]);
    expect(ladder.snapshot.phase).toBe('webrtc-trying');
  });

  it('stop() closes whatever is open and cancels every timer', () => {
    ladder.start(JOIN);
    clock.advance(8000 + 30_000);
    effects.take();
    ladder.stop();
    expect(effects.take()).toEqual([['closeRelay', true], ['closeWebRtc']]);
    expect(clock.timers.size).toBe(0);
    expect(ladder.snapshot).toMatchObject({ phase: 'idle', active: null });
    // A restart after a rejoin begins from the top again.
    ladder.start(JOIN);
    expect(effects.take()).toEqual([AUTO_OPEN]);
  });
});

describe('ConnectionLadder: the HLS mirror rung', () => {
  let clock: ManualClock;
  let effects: RecordingEffects;
  let ladder: ConnectionLadder;

  beforeEach(() => {
    clock = new ManualClock();
    effects = new RecordingEffects();
    ladder = new ConnectionLadder({ effects, clock });
  });

  it('plays HLS when WebRTC gets no media and the relay is off, and retries WebRTC from there', () => {
    ladder.start({ ...JOIN, relayAvailable: false, hlsAvailable: true });
    effects.take();
    clock.advance(8000);
    expect(effects.take()).toEqual([['closeWebRtc'], ['openHls', 'relay-off']]);
    expect(ladder.snapshot).toMatchObject({
      phase: 'hls',
      active: 'hls',
      hlsCause: 'relay-off',
      noPath: false,
    });
    clock.advance(30_000);
    expect(effects.take()).toEqual([RETRY_OPEN]);
    ladder.webRtcFrames();
    expect(effects.take()).toEqual([['closeHls']]);
    expect(ladder.snapshot).toMatchObject({ phase: 'webrtc', active: 'webrtc', hlsCause: null });
    expect(clock.timers.size).toBe(0);
  });

  it('without the mirror, the relay-off deadline still reports no path', () => {
    ladder.start({ ...JOIN, relayAvailable: false, hlsAvailable: false });
    effects.take();
    clock.advance(8000);
    expect(effects.take()).toEqual([]);
    expect(ladder.snapshot).toMatchObject({ phase: 'webrtc-trying', noPath: true });
  });

  it('skips a relay this browser cannot decode and goes to HLS at the deadline', () => {
    ladder.start({ ...JOIN, relayPlayable: false, hlsAvailable: true });
    effects.take();
    clock.advance(8000);
    expect(effects.take()).toEqual([['closeWebRtc'], ['openHls', 'relay-unplayable']]);
  });

  it('leaves a relay whose player cannot decode for HLS, unsubscribing from the relay', () => {
    ladder.start({ ...JOIN, hlsAvailable: true });
    clock.advance(8000);
    effects.take();
    ladder.relayUnplayable();
    expect(effects.take()).toEqual([
      ['closeRelay', true],
      ['openHls', 'relay-unplayable'],
    ]);
    expect(ladder.snapshot).toMatchObject({ active: 'hls', relayPlayable: false });
  });

  it('stays on an undecodable relay with no path when the mirror is off', () => {
    ladder.start(JOIN);
    clock.advance(8000);
    effects.take();
    ladder.relayUnplayable();
    expect(effects.take()).toEqual([]);
    expect(ladder.snapshot).toMatchObject({ active: 'relay', noPath: true, relayPlayable: false });
  });

  it('goes to HLS when relay_subscribe is refused and the mirror is on', () => {
    ladder.start({ ...JOIN, hlsAvailable: true });
    clock.advance(8000);
    effects.take();
    ladder.relayFailed();
    expect(effects.take()).toEqual([
      ['closeRelay', false],
      ['openHls', 'relay-off'],
    ]);
  });

  it('an overflowed viewer without WebCodecs plays HLS at once', () => {
    ladder.start({
      ...JOIN,
      mode: 'relay',
      modeReason: 'overflow',
      relayPlayable: false,
      hlsAvailable: true,
    });
    expect(effects.take()).toEqual([['openHls', 'relay-unplayable']]);
  });

  it('"Switch to HLS" closes WebRTC, plays HLS without retries, and "back" climbs again', () => {
    ladder.start({ ...JOIN, hlsAvailable: true });
    ladder.webRtcFrames();
    effects.take();
    ladder.chooseHls();
    expect(effects.take()).toEqual([['closeWebRtc'], ['openHls', 'chosen']]);
    expect(ladder.snapshot).toMatchObject({ active: 'hls', hlsCause: 'chosen' });
    expect(clock.timers.size).toBe(0);
    ladder.hlsFrames();
    expect(effects.last?.relayPlaying).toBe(true);
    ladder.leaveHls();
    expect(effects.take()).toEqual([
      ['closeHls'],
      ['openWebRtc', { iceTransportPolicy: 'all', fresh: true, background: false }],
    ]);
    expect(ladder.snapshot).toMatchObject({ phase: 'webrtc-trying', hlsCause: null });
  });

  it('"Switch to HLS" from the relay unsubscribes and cancels the relay retry', () => {
    ladder.start({ ...JOIN, hlsAvailable: true });
    clock.advance(8000);
    effects.take();
    ladder.chooseHls();
    expect(effects.take()).toEqual([
      ['closeRelay', true],
      ['openHls', 'chosen'],
    ]);
    clock.advance(60_000);
    expect(effects.take()).toEqual([]);
  });

  it('cannot choose HLS while the mirror is off', () => {
    ladder.start(JOIN);
    effects.take();
    ladder.chooseHls();
    expect(effects.take()).toEqual([]);
    expect(ladder.snapshot.phase).toBe('webrtc-trying');
  });

  it('the mirror switching off takes an HLS viewer back to WebRTC', () => {
    ladder.start({ ...JOIN, hlsAvailable: true });
    ladder.webRtcFrames();
    ladder.chooseHls();
    effects.take();
    ladder.setHlsAvailable(false);
    expect(effects.take()).toEqual([
      ['closeHls'],
      ['openWebRtc', { iceTransportPolicy: 'all', fresh: true, background: false }],
    ]);
    expect(ladder.snapshot).toMatchObject({ active: 'webrtc', hlsAvailable: false });
  });

  it('the mirror switching on mid-session lets a stuck viewer fall back to it', () => {
    ladder.start({ ...JOIN, relayAvailable: false });
    clock.advance(8000);
    expect(ladder.snapshot.noPath).toBe(true);
    ladder.setHlsAvailable(true);
    effects.take();
    // The next attempt's deadline takes the new rung.
    ladder.broadcasterChanged();
    clock.advance(8000);
    expect(effects.take()).toEqual([AUTO_OPEN, ['closeWebRtc'], ['openHls', 'relay-off']]);
  });

  it('a failed HLS player is not picked again automatically', () => {
    ladder.start({ ...JOIN, relayAvailable: false, hlsAvailable: true });
    clock.advance(8000);
    effects.take();
    ladder.hlsFailed();
    expect(effects.take()).toEqual([
      ['closeHls'],
      ['openWebRtc', { iceTransportPolicy: 'all', fresh: true, background: false }],
    ]);
    clock.advance(8000);
    expect(effects.take()).toEqual([]);
    expect(ladder.snapshot).toMatchObject({ phase: 'webrtc-trying', noPath: true });
  });

  it('stop closes HLS and any background trial', () => {
    ladder.start({ ...JOIN, relayAvailable: false, hlsAvailable: true });
    clock.advance(8000 + 30_000);
    effects.take();
    ladder.stop();
    expect(effects.take()).toEqual([['closeHls'], ['closeWebRtc']]);
    expect(clock.timers.size).toBe(0);
  });
});
