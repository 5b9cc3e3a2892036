import { describe, expect, it } from 'vitest';
import {
  ConnectionLadder,
  type LadderClock,
  type LadderEffects,
  type LadderJoinInfo,
} from '../../client/src/lib/connection-ladder';
import { parsePathReason, pathReasonFor, pathReasonText } from '../../client/src/lib/path-reason';
import { offeredVideoCodecs, undecodableVideoOffer } from '../../client/src/lib/sdp-codecs';

/** A Chromium offer restricted to H.264 (plus rtx/red/ulpfec), with audio. */
const H264_ONLY_OFFER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 opus/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 102 103 104 124',
  'a=sendonly',
  'a=rtpmap:102 H264/90000',
  'a=fmtp:102 profile-level-id=42e01f',
  'a=rtpmap:103 rtx/90000',
  'a=rtpmap:104 red/90000',
  'a=rtpmap:124 ulpfec/90000',
  '',
].join('\r\n');

const FIREFOX_RECEIVES = ['VP8', 'VP9', 'AV1'];
const CHROMIUM_RECEIVES = ['VP8', 'VP9', 'H264', 'AV1'];

describe('undecodable WebRTC offers (sdp-codecs)', () => {
  it('lists the media codecs of each active video section, without rtx/red/fec', () => {
    expect(offeredVideoCodecs(H264_ONLY_OFFER)).toEqual([['H264']]);
    const rejected = H264_ONLY_OFFER.replace('m=video 9', 'm=video 0');
    expect(offeredVideoCodecs(rejected)).toEqual([]);
    const inactive = H264_ONLY_OFFER.replace('a=sendonly', 'a=inactive');
    expect(offeredVideoCodecs(inactive)).toEqual([]);
    const av1x = H264_ONLY_OFFER.replace('H264/90000', 'AV1X/90000');
    expect(offeredVideoCodecs(av1x)).toEqual([['AV1']]);
  });

  it('an H.264-only offer is undecodable in Firefox without OpenH264, fine in Chromium', () => {
    expect(undecodableVideoOffer(H264_ONLY_OFFER, FIREFOX_RECEIVES)).toEqual(['H264']);
    expect(undecodableVideoOffer(H264_ONLY_OFFER, CHROMIUM_RECEIVES)).toBeNull();
  });

  it('an offer with any receivable codec, no video, or unknown capabilities is not flagged', () => {
    const withVp8 = H264_ONLY_OFFER.replace(
      'a=rtpmap:103 rtx/90000',
      'a=rtpmap:96 VP8/90000\r\na=rtpmap:103 rtx/90000',
    );
    expect(undecodableVideoOffer(withVp8, FIREFOX_RECEIVES)).toBeNull();
    const audioOnly = H264_ONLY_OFFER.split('m=video')[0]!;
    expect(undecodableVideoOffer(audioOnly, FIREFOX_RECEIVES)).toBeNull();
    expect(undecodableVideoOffer(H264_ONLY_OFFER, null)).toBeNull();
    expect(undecodableVideoOffer(H264_ONLY_OFFER, [])).toBeNull();
  });
});

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

function recorder(): LadderEffects & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    openWebRtc: (req) => log.push(`openWebRtc${req.background ? ' (trial)' : ''}`),
    closeWebRtc: () => log.push('closeWebRtc'),
    openRelay: (reason) => log.push(`openRelay ${reason}`),
    closeRelay: () => log.push('closeRelay'),
    openHls: (cause) => log.push(`openHls ${cause}`),
    closeHls: () => log.push('closeHls'),
  };
}

const JOIN: LadderJoinInfo = {
  mode: 'webrtc',
  modeReason: null,
  relayAvailable: true,
  ladder: { mediaTimeoutMs: 8000, retryIntervalMs: 30_000 },
  broadcasterOnline: true,
};

describe('ConnectionLadder: WebRTC offer this browser cannot decode', () => {
  it('goes to the relay at once, without waiting for the media deadline or retrying WebRTC', () => {
    const clock = new ManualClock();
    const effects = recorder();
    const ladder = new ConnectionLadder({ effects, clock });
    ladder.start(JOIN);
    clock.advance(300);
    ladder.webRtcUndecodable(['H264']);
    expect(effects.log).toEqual(['openWebRtc', 'closeWebRtc', 'openRelay fallback']);
    expect(ladder.snapshot).toMatchObject({
      phase: 'relay',
      relayReason: 'fallback',
      webRtcUndecodable: 'H264',
    });
    expect(clock.timers.size, 'no deadline and no WebRTC retry left armed').toBe(0);
    clock.advance(120_000);
    expect(effects.log).toHaveLength(3);
  });

  it('takes the HLS mirror when the relay is off, and says no path works when neither is there', () => {
    const withHls = recorder();
    const ladder = new ConnectionLadder({ effects: withHls, clock: new ManualClock() });
    ladder.start({ ...JOIN, relayAvailable: false, hlsAvailable: true });
    ladder.webRtcUndecodable(['H264']);
    expect(withHls.log).toEqual(['openWebRtc', 'closeWebRtc', 'openHls relay-off']);

    const nothing = recorder();
    const stuck = new ConnectionLadder({ effects: nothing, clock: new ManualClock() });
    stuck.start({ ...JOIN, relayAvailable: false });
    stuck.webRtcUndecodable(['H264']);
    expect(nothing.log).toEqual(['openWebRtc']);
    expect(stuck.snapshot).toMatchObject({ noPath: true, webRtcUndecodable: 'H264' });
    expect(pathReasonText(pathReasonFor(stuck.snapshot, null))).toBe(
      "No media path works: this browser can't decode H264 over WebRTC and the server relay is not available",
    );
  });

  it('a background WebRTC trial that meets the same offer is dropped and not retried', () => {
    const clock = new ManualClock();
    const effects = recorder();
    const ladder = new ConnectionLadder({ effects, clock });
    ladder.start(JOIN);
    clock.advance(8000); // deadline: relay fallback
    clock.advance(30_000); // retry: background trial
    expect(effects.log.at(-1)).toBe('openWebRtc (trial)');
    ladder.webRtcUndecodable(['H264']);
    expect(effects.log.at(-1)).toBe('closeWebRtc');
    expect(ladder.snapshot).toMatchObject({ phase: 'relay', retrying: false });
    expect(clock.timers.size).toBe(0);
  });

  it('a reclaimed broadcaster (who may offer other codecs) clears it', () => {
    const ladder = new ConnectionLadder({ effects: recorder(), clock: new ManualClock() });
    ladder.start(JOIN);
    ladder.webRtcUndecodable(['H264']);
    ladder.broadcasterChanged();
    expect(ladder.snapshot.webRtcUndecodable).toBeNull();
  });

  it('the reason names the codec, in both languages, and travels to the broadcaster', () => {
    const ladder = new ConnectionLadder({ effects: recorder(), clock: new ManualClock() });
    ladder.start(JOIN);
    ladder.webRtcUndecodable(['H264']);
    const reason = pathReasonFor(ladder.snapshot, null);
    expect(reason).toEqual({ key: 'reason.relayCodec', params: { codec: 'H264' } });
    const text = pathReasonText(reason);
    expect(text).toBe(
      "This browser can't decode H264 over WebRTC; using the server relay, decoded with WebCodecs",
    );
    expect(parsePathReason(text)).toEqual(reason);
  });
});
