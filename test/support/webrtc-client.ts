import nodeDataChannel from 'node-datachannel';

/**
 * WebRTC clients for SFU/WHEP tests and benchmarks, built on node-datachannel (real ICE, DTLS and
 * SRTP): a publisher that sends synthetic H.264 RTP, and subscribers that count what they get
 * and can send RTCP feedback. No browser needed, so the server's forwarding is tested exactly.
 */

type Ndc = typeof nodeDataChannel;
type Peer = InstanceType<Ndc['PeerConnection']>;
type Track = ReturnType<Peer['addTrack']>;

const H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';

let logInitialised = false;
function quietLibrary(): void {
  if (logInitialised) return;
  logInitialised = true;
  nodeDataChannel.initLogger('Error', () => {});
}

function newPeer(name: string): Peer {
  quietLibrary();
  return new nodeDataChannel.PeerConnection(name, { iceServers: [], disableAutoNegotiation: true });
}

function offerOf(pc: Peer): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no local offer')), 5000);
    const done = () => {
      clearTimeout(timer);
      resolve(pc.localDescription()!.sdp);
    };
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') done();
    });
    pc.setLocalDescription('offer');
    if (pc.gatheringState() === 'complete') done();
  });
}

function whenOpen(track: Track, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (track.isOpen()) return resolve();
    const timer = setTimeout(() => reject(new Error('track did not open')), timeoutMs);
    track.onOpen(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface RtpFields {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  payload: Buffer;
}

export function rtpPacket(f: RtpFields): Buffer {
  const out = Buffer.alloc(12 + f.payload.length);
  out[0] = 0x80;
  out[1] = (f.marker ? 0x80 : 0) | f.payloadType;
  out.writeUInt16BE(f.sequence & 0xffff, 2);
  out.writeUInt32BE(f.timestamp >>> 0, 4);
  out.writeUInt32BE(f.ssrc >>> 0, 8);
  f.payload.copy(out, 12);
  return out;
}

/** An H.264 frame as RTP payloads: a keyframe starts with an SPS NAL, deltas are type 1. */
export function h264FramePayloads(
  keyframe: boolean,
  frameNo: number,
  packets: number,
  size = 1100,
): Buffer[] {
  return Array.from({ length: packets }, (_, i) => {
    const payload = Buffer.alloc(size, (frameNo + i) & 0xff);
    payload[0] = keyframe && i === 0 ? 0x67 : 0x41;
    payload.writeUInt32BE(frameNo >>> 0, 1);
    payload[5] = i;
    return payload;
  });
}

export class PublisherClient {
  readonly pc: Peer;
  readonly video: Track;
  readonly audio: Track;
  readonly videoSsrc = 0x1111_0001;
  readonly audioSsrc = 0x1111_0002;
  readonly rtcp: Buffer[] = [];
  #seq = 1000;
  #frame = 0;
  /** A PLI arrived: the next frame is a keyframe, as an encoder would do. */
  #keyframeAsked = false;

  constructor(opts: { codec?: 'H264' | 'VP8' } = {}) {
    this.pc = newPeer('test-pub');
    const video = new nodeDataChannel.Video('0', 'SendOnly');
    if (opts.codec === 'VP8') video.addVP8Codec(102);
    else video.addH264Codec(102, H264_FMTP);
    video.addSSRC(this.videoSsrc, 'pub', 'stream', 'video');
    this.video = this.pc.addTrack(video);
    const audio = new nodeDataChannel.Audio('1', 'SendOnly');
    audio.addOpusCodec(111, 'minptime=10;useinbandfec=1');
    audio.addSSRC(this.audioSsrc, 'pub', 'stream', 'audio');
    this.audio = this.pc.addTrack(audio);
    this.video.onMessage((msg) => {
      const packet = Buffer.from(msg);
      if (this.rtcp.length < 10_000) this.rtcp.push(packet);
      if (packet[1] === 206 && (packet[0]! & 0x1f) === 1) this.#keyframeAsked = true;
    });
    this.audio.onMessage(() => {});
  }

  offer(): Promise<string> {
    return offerOf(this.pc);
  }

  async accept(answer: string): Promise<void> {
    this.pc.setRemoteDescription(answer, 'answer');
    await whenOpen(this.video);
  }

  /**
   * Sends one video frame (`packets` RTP packets, marker on the last); a keyframe when asked or
   * when the server sent a PLI since the last one. Returns its sequence numbers.
   */
  sendFrame(keyframe: boolean, packets = 3, size = 1100): number[] {
    keyframe ||= this.#keyframeAsked;
    this.#keyframeAsked = false;
    const frame = this.#frame++;
    const sent: number[] = [];
    h264FramePayloads(keyframe, frame, packets, size).forEach((payload, i) => {
      const sequence = this.#seq++ & 0xffff;
      sent.push(sequence);
      this.video.sendMessageBinary(
        rtpPacket({
          payloadType: 102,
          sequence,
          timestamp: frame * 3000,
          ssrc: this.videoSsrc,
          marker: i === packets - 1,
          payload,
        }),
      );
    });
    return sent;
  }

  /** RTCP packet types received from the server (PLI is 206/1, REMB 206/15, RR 201). */
  feedbackCount(type: number, fmt?: number): number {
    return this.rtcp.filter((p) => p[1] === type && (fmt === undefined || (p[0]! & 0x1f) === fmt))
      .length;
  }

  close(): void {
    this.pc.close();
  }
}

export interface SubscriberOptions {
  /** Video codecs to offer, e.g. ['H264'] or ['VP8'] (a browser without H.264). */
  videoCodecs?: Array<'H264' | 'VP8' | 'VP9' | 'AV1'>;
  audio?: boolean;
  /** Offer sendrecv with our own SSRC (to prove the server never forwards subscriber media). */
  sendMedia?: boolean;
  /** Called with each RTP packet instead of keeping it in `received` (benchmarks). */
  onRtp?: (packet: Buffer) => void;
}

export class SubscriberClient {
  readonly pc: Peer;
  readonly video: Track;
  readonly audio: Track | null;
  readonly received: Buffer[] = [];
  readonly rtcp: Buffer[] = [];

  constructor(opts: SubscriberOptions = {}) {
    this.pc = newPeer('test-sub');
    const video = new nodeDataChannel.Video('0', opts.sendMedia ? 'SendRecv' : 'RecvOnly');
    const codecs = opts.videoCodecs ?? ['H264'];
    codecs.forEach((codec, i) => {
      if (codec === 'H264') video.addH264Codec(96 + i, H264_FMTP);
      else video.addVideoCodec(96 + i, codec);
    });
    if (opts.sendMedia) video.addSSRC(0x2222_0001, 'sub', 'stream', 'video');
    this.video = this.pc.addTrack(video);
    this.video.onMessage((msg) => {
      const packet = Buffer.from(msg);
      const isRtcp = packet[1]! >= 192 && packet[1]! <= 223;
      if (isRtcp) {
        if (this.rtcp.length < 10_000) this.rtcp.push(packet);
      } else if (opts.onRtp) opts.onRtp(packet);
      else if (this.received.length < 100_000) this.received.push(packet);
    });
    if (opts.audio ?? true) {
      const audio = new nodeDataChannel.Audio('1', 'RecvOnly');
      audio.addOpusCodec(111, 'minptime=10;useinbandfec=1');
      this.audio = this.pc.addTrack(audio);
      this.audio.onMessage(() => {});
    } else this.audio = null;
  }

  offer(): Promise<string> {
    return offerOf(this.pc);
  }

  async accept(answer: string): Promise<void> {
    this.pc.setRemoteDescription(answer, 'answer');
    await whenOpen(this.video);
  }

  /** Sends raw bytes on the video track (RTCP feedback, or media a subscriber must not send). */
  send(packet: Buffer): void {
    this.video.sendMessageBinary(packet);
  }

  close(): void {
    this.pc.close();
  }
}

export function closeLibrary(): void {
  nodeDataChannel.cleanup();
}
