/**
 * Synthetic but realistically sized signalling payloads. Each carries the sender's send time
 * (`x-bench-ts:<ms>`) so the receiver can compute the relay latency; every process on the box
 * reads the same clock through `nowMs()`.
 */
import { performance } from 'node:perf_hooks';

export const STAMP_MARKER = 'x-bench-ts:';
export const OFFER_BYTES = 4096;
export const ANSWER_BYTES = 3072;
export const CANDIDATES_PER_SIDE = 6;

/** Wall-clock milliseconds with sub-ms resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const SDP_HEAD = (sentAt: number) =>
  `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=${STAMP_MARKER}${sentAt.toFixed(3)}\r\n` +
  'a=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS stream\r\n';

/** Filler in the shape of real codec lines, so compression-free sizes look like a real SDP. */
const SDP_BODY_LINES = [
  'm=video 9 UDP/TLS/RTP/SAVPF 45 98 99 100 101 102 103 104 105 106 107 108 109 127 125 39 40\r\n',
  'c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:Xk2p\r\na=ice-pwd:0dA6+Vvt3M0ZqLXo1gM9L3yQ\r\n',
  'a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B\r\n',
  'a=rtpmap:45 AV1/90000\r\na=rtcp-fb:45 goog-remb\r\na=rtcp-fb:45 transport-cc\r\na=rtcp-fb:45 ccm fir\r\n',
  'a=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0\r\na=rtcp-fb:98 nack\r\na=rtcp-fb:98 nack pli\r\n',
  'a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n',
];

function fakeSdp(targetBytes: number, sentAt: number): string {
  let sdp = SDP_HEAD(sentAt);
  for (let i = 0; sdp.length < targetBytes; i++) {
    sdp += SDP_BODY_LINES[i % SDP_BODY_LINES.length];
  }
  return sdp.slice(0, targetBytes);
}

export function offerSdp(sentAt: number): string {
  return fakeSdp(OFFER_BYTES, sentAt);
}

export function answerSdp(sentAt: number): string {
  return fakeSdp(ANSWER_BYTES, sentAt);
}

export interface CandidateInit {
  candidate: string;
  sdpMid: string;
  sdpMLineIndex: number;
  usernameFragment: string;
}

export function iceCandidate(index: number, sentAt: number): CandidateInit {
  const port = 50_000 + index;
  return {
    candidate:
      `candidate:${842_163_049 + index} 1 udp 2122260223 192.0.2.${10 + index} ${port} typ host ` +
      `generation 0 ufrag Xk2p network-id 1 network-cost 10 ${STAMP_MARKER}${sentAt.toFixed(3)}`,
    sdpMid: '0',
    sdpMLineIndex: 0,
    usernameFragment: 'Xk2p',
  };
}

/** The send time embedded by this module, or null when the text carries none. */
export function readStamp(text: string): number | null {
  const at = text.indexOf(STAMP_MARKER);
  if (at < 0) return null;
  const value = Number.parseFloat(
    text.slice(at + STAMP_MARKER.length, at + STAMP_MARKER.length + 24),
  );
  return Number.isFinite(value) ? value : null;
}
