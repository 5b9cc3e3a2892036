import { describe, expect, it } from 'vitest';
import {
  ConnectionLadder,
  type LadderEffects,
  type LadderJoinInfo,
  type LadderSnapshot,
} from '../../client/src/lib/connection-ladder';
import { pathReasonFor, pathReasonText } from '../../client/src/lib/path-reason';
import type { PathOverride } from '../../client/src/lib/path-override';

/** The SFU rung of the ladder: forced by ?path=sfu, chosen by the server for overflow, and
 *  what happens when it cannot play (the next rung, with the reason). */

function setup(override: PathOverride = 'auto', join: Partial<LadderJoinInfo> = {}) {
  const timers: Array<{ cb: () => void; ms: number; live: boolean }> = [];
  const log: string[] = [];
  let last: LadderSnapshot | null = null;
  const effects: LadderEffects = {
    openWebRtc: (req) => log.push(`openWebRtc:${req.fresh ? 'fresh' : 'join'}`),
    closeWebRtc: () => log.push('closeWebRtc'),
    openRelay: (reason) => log.push(`openRelay:${reason}`),
    closeRelay: () => log.push('closeRelay'),
    openHls: (cause) => log.push(`openHls:${cause}`),
    closeHls: () => log.push('closeHls'),
    openSfu: (reason) => log.push(`openSfu:${reason}`),
    closeSfu: (unsubscribe) => log.push(`closeSfu:${unsubscribe}`),
    onChange: (snapshot) => (last = snapshot),
  };
  const ladder = new ConnectionLadder({
    effects,
    override,
    clock: {
      setTimeout: (cb, ms) => timers.push({ cb, ms, live: true }) - 1,
      clearTimeout: (handle) => {
        const timer = timers[handle as number];
        if (timer) timer.live = false;
      },
    },
  });
  ladder.start({
    mode: 'webrtc',
    modeReason: null,
    relayAvailable: true,
    ladder: { mediaTimeoutMs: 8000, retryIntervalMs: 30_000 },
    broadcasterOnline: true,
    ...join,
  });
  const fireDeadline = () => {
    const timer = timers.filter((t) => t.live && t.ms === 8000).at(-1)!;
    timer.live = false;
    timer.cb();
  };
  return { ladder, log, snapshot: () => last!, fireDeadline };
}

const reasonOf = (s: LadderSnapshot) => pathReasonText(pathReasonFor(s, null));

describe('ConnectionLadder: the SFU rung', () => {
  it('?path=sfu goes to the SFU at once and says so', () => {
    const { ladder, log, snapshot } = setup('sfu');
    expect(log).toEqual(['openSfu:forced']);
    expect(snapshot()).toMatchObject({ phase: 'sfu', active: 'sfu', sfuReason: 'forced' });
    expect(reasonOf(snapshot())).toBe('SFU forced by ?path=sfu');
    ladder.sfuFrames();
    expect(snapshot().sfuPlaying).toBe(true);
  });

  it('an overflow viewer (join mode sfu) starts on the SFU, not the relay', () => {
    const { log, snapshot } = setup('auto', { mode: 'sfu', modeReason: 'overflow' });
    expect(log).toEqual(['openSfu:overflow']);
    expect(reasonOf(snapshot())).toMatch(/mesh is full; using the server's WebRTC SFU/);
    const saturated = setup('auto', { mode: 'sfu', modeReason: 'uplink_saturated' });
    expect(reasonOf(saturated.snapshot())).toMatch(/upload is saturated/);
  });

  it('a browser that cannot receive the codec goes to the relay, and the reason says why', () => {
    const { ladder, log, snapshot } = setup('sfu');
    ladder.sfuFailed({ kind: 'codec', codec: 'H264' });
    expect(log).toEqual(['openSfu:forced', 'closeSfu:true', 'openRelay:fallback']);
    expect(snapshot()).toMatchObject({ active: 'relay', sfuFailure: { kind: 'codec' } });
    expect(reasonOf(snapshot())).toBe(
      'This browser cannot play H264 over WebRTC; using the server relay',
    );
  });

  it('an overflow viewer whose SFU fails goes to the relay as overflow', () => {
    const { ladder, log, snapshot } = setup('auto', { mode: 'sfu', modeReason: 'overflow' });
    ladder.sfuFailed({ kind: 'unavailable' });
    expect(log.at(-1)).toBe('openRelay:overflow');
    expect(reasonOf(snapshot())).toBe('The SFU did not work here; using the server relay');
  });

  it('no SFU frames before the deadline: the relay', () => {
    const { log, snapshot, fireDeadline } = setup('sfu');
    fireDeadline();
    expect(log.slice(1)).toEqual(['closeSfu:true', 'openRelay:fallback']);
    expect(snapshot().sfuFailure).toEqual({ kind: 'no-media' });
  });

  it('a forced SFU with no relay falls back to WebRTC to the broadcaster', () => {
    const { ladder, log, snapshot } = setup('sfu', { relayAvailable: false });
    ladder.sfuFailed({ kind: 'codec', codec: 'H264' });
    expect(log.at(-1)).toBe('openWebRtc:fresh');
    ladder.webRtcFrames();
    expect(reasonOf(snapshot())).toBe('The SFU did not work here; using WebRTC to the broadcaster');
  });

  it('switching ?path to or from sfu mid-session leaves the current rung cleanly', () => {
    const { ladder, log, snapshot } = setup('auto');
    expect(log).toEqual(['openWebRtc:join']);
    ladder.setOverride('sfu');
    expect(log.slice(1)).toEqual(['closeWebRtc', 'openSfu:forced']);
    ladder.setOverride('auto');
    expect(log.slice(3)).toEqual(['closeSfu:true', 'openWebRtc:fresh']);
    expect(snapshot().active).toBe('webrtc');
    ladder.stop();
  });

  it('stop closes the SFU link', () => {
    const { ladder, log } = setup('sfu');
    ladder.stop(false);
    expect(log.at(-1)).toBe('closeSfu:false');
  });
});
