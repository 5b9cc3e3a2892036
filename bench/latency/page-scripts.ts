/**
 * Code that runs inside the browser pages (Chromium and Firefox). Every function here is serialised with `toString()`
 * and must only use its arguments and browser globals.
 *
 * - Source role: replaces `navigator.mediaDevices.getUserMedia` with a 1280×720 30 fps canvas
 *   (`captureStream(0)` + `requestFrame()` right after each draw; Firefox: `captureStream()`,
 *   which captures each change) that carries the sender's clock
 *   (stamp.ts), so the real app code captures, encodes and sends it.
 * - Viewer role: every `<video data-testid="remote-video">` that appears is read back on each
 *   presented frame (`requestVideoFrameCallback` + `drawImage` + `getImageData`) and
 *   now − stamp is recorded.
 */
import { decodeStamp, encodeStamp, STAMP_COLUMNS, STAMP_ROW_FRACTION, STAMP_ROWS } from './stamp';

export interface BenchPageConfig {
  role: 'source' | 'viewer';
  width: number;
  height: number;
  fps: number;
  columns: number;
  rows: number;
  rowFraction: number;
  maxSamples: number;
  /** The viewer role reads back every video matching this (the app's remote video by default). */
  videoSelector: string;
}

/** What the viewer role exposes as `window.__bench`. */
export interface BenchViewerState {
  samples: number[];
  frames: number;
  badReads: number;
  firstFrameAt: number | null;
  clickAt: number | null;
  videoSize: string;
}

type Encode = (ms: number) => number[];
type Decode = (bits: readonly number[]) => number | null;

function installBench(config: BenchPageConfig, encode: Encode, decode: Decode): void {
  const w = window as unknown as Record<string, unknown>;
  const clock = () => performance.timeOrigin + performance.now();

  if (config.role === 'source') {
    let canvas: HTMLCanvasElement | null = null;
    let context: CanvasRenderingContext2D | null = null;
    const tracks = new Set<CanvasCaptureMediaStreamTrack>();
    let frame = 0;
    const draw = () => {
      if (!context || !canvas) return;
      const { width, height } = canvas;
      frame += 1;
      // Moving content below the stamp, so the encoder has real work (and motion to show).
      const hue = (frame * 3) % 360;
      context.fillStyle = `hsl(${hue}, 60%, 45%)`;
      context.fillRect(0, 0, width, height);
      context.fillStyle = '#ffd400';
      const x = (frame * 17) % (width - 160);
      context.fillRect(x, height * 0.4, 160, 160);
      context.fillStyle = '#202020';
      context.font = '48px sans-serif';
      context.fillText(`frame ${frame}`, 40, height - 60);
      // The clock, drawn last and as late as possible before the capture.
      const bits = encode(clock());
      const blockWidth = width / config.columns;
      const blockHeight = height * config.rowFraction;
      for (let row = 0; row < config.rows; row++) {
        for (let col = 0; col < config.columns; col++) {
          context.fillStyle = bits[row * config.columns + col] ? '#ffffff' : '#000000';
          context.fillRect(col * blockWidth, row * blockHeight, blockWidth + 1, blockHeight + 1);
        }
      }
      for (const track of tracks) {
        if (track.readyState === 'live') track.requestFrame();
        else tracks.delete(track);
      }
    };
    const makeStream = (withAudio: boolean): MediaStream => {
      if (!canvas) {
        canvas = document.createElement('canvas');
        canvas.width = config.width;
        canvas.height = config.height;
        context = canvas.getContext('2d', { alpha: false });
        draw();
        setInterval(draw, 1000 / config.fps);
      }
      // Firefox 153 delivers no frame from captureStream(0) + requestFrame(); without a rate
      // it captures each change of the canvas (after it is drawn), which is what we want.
      const manual = !navigator.userAgent.includes('Firefox');
      const stream = manual ? canvas.captureStream(0) : canvas.captureStream();
      const track = stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack | undefined;
      if (track) tracks.add(track);
      if (withAudio) {
        const audio = new AudioContext();
        const oscillator = audio.createOscillator();
        const gain = audio.createGain();
        gain.gain.value = 0.05;
        const destination = audio.createMediaStreamDestination();
        oscillator.connect(gain).connect(destination);
        oscillator.start();
        for (const t of destination.stream.getAudioTracks()) stream.addTrack(t);
      }
      return stream;
    };
    w.__benchClock = { makeStream };
    const devices = navigator.mediaDevices;
    if (devices) {
      devices.getUserMedia = async (constraints?: MediaStreamConstraints) =>
        makeStream(Boolean(constraints?.audio));
    }
    return;
  }

  const state: BenchViewerState = {
    samples: [],
    frames: 0,
    badReads: 0,
    firstFrameAt: null,
    clickAt: null,
    videoSize: '',
  };
  w.__bench = state;
  const readWidth = config.columns * 20;
  const readHeight = Math.round(config.rows * 22);
  const seen = new WeakSet<HTMLVideoElement>();
  let lastStamp = 0;
  const attach = (video: HTMLVideoElement) => {
    if (seen.has(video)) return;
    seen.add(video);
    const canvas = document.createElement('canvas');
    canvas.width = readWidth;
    canvas.height = readHeight;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) return;
    const onFrame = (now: number) => {
      const at = performance.timeOrigin + now;
      state.frames += 1;
      state.firstFrameAt ??= at;
      const vw = video.videoWidth;
      const vh = video.videoHeight;
      if (vw > 0 && vh > 0) {
        state.videoSize = `${vw}x${vh}`;
        context.drawImage(
          video,
          0,
          0,
          vw,
          vh * config.rowFraction * config.rows,
          0,
          0,
          readWidth,
          readHeight,
        );
        const { data } = context.getImageData(0, 0, readWidth, readHeight);
        const bits: number[] = [];
        const cellW = readWidth / config.columns;
        const cellH = readHeight / config.rows;
        for (let row = 0; row < config.rows; row++) {
          for (let col = 0; col < config.columns; col++) {
            // Mean luma of the middle of the block.
            let sum = 0;
            let n = 0;
            const cx = Math.floor((col + 0.5) * cellW);
            const cy = Math.floor((row + 0.5) * cellH);
            for (let dy = -3; dy <= 3; dy++) {
              for (let dx = -3; dx <= 3; dx++) {
                const i = ((cy + dy) * readWidth + (cx + dx)) * 4;
                sum += 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
                n += 1;
              }
            }
            bits.push(sum / n > 128 ? 1 : 0);
          }
        }
        const stamp = decode(bits);
        if (stamp === null) state.badReads += 1;
        else if (stamp !== lastStamp) {
          lastStamp = stamp;
          if (state.samples.length < config.maxSamples) state.samples.push(at - stamp);
        }
      }
      if (video.isConnected) video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  const scan = () => {
    document.querySelectorAll<HTMLVideoElement>(config.videoSelector).forEach(attach);
  };
  new MutationObserver(scan).observe(document, { childList: true, subtree: true });
  w.__benchMarkClick = () => {
    state.clickAt = clock();
  };
}

/** The init-script source for one role (tsx's `__name` helper is defined for the copies). */
export function benchInitScript(
  role: BenchPageConfig['role'],
  maxSamples = 100_000,
  videoSelector = 'video[data-testid="remote-video"]',
): string {
  const config: BenchPageConfig = {
    role,
    width: 1280,
    height: 720,
    fps: 30,
    columns: STAMP_COLUMNS,
    rows: STAMP_ROWS,
    rowFraction: STAMP_ROW_FRACTION,
    maxSamples,
    videoSelector,
  };
  return [
    'var __name = globalThis.__name || ((target) => target); globalThis.__name = __name;',
    `(${installBench.toString()})(${JSON.stringify(config)}, ${encodeStamp.toString()}, ${decodeStamp.toString()});`,
  ].join('\n');
}

export interface BareOfferOptions {
  codecMime: string;
  maxBitrateKbps: number;
}

/** Sender page: a bare RTCPeerConnection sending the clock canvas; returns the full offer. */
export async function bareSenderOffer(options: BareOfferOptions): Promise<string> {
  const w = window as unknown as {
    __benchClock: { makeStream(withAudio: boolean): MediaStream };
    __benchPc?: RTCPeerConnection;
  };
  const stream = w.__benchClock.makeStream(false);
  const pc = new RTCPeerConnection({ iceServers: [] });
  w.__benchPc = pc;
  const transceiver = pc.addTransceiver(stream.getVideoTracks()[0]!, {
    direction: 'sendonly',
    streams: [stream],
  });
  const codecs = RTCRtpReceiver.getCapabilities('video')?.codecs ?? [];
  const preferred = codecs.filter(
    (c) => c.mimeType.toLowerCase() === options.codecMime.toLowerCase(),
  );
  const rest = codecs.filter((c) => c.mimeType.toLowerCase() !== options.codecMime.toLowerCase());
  if (preferred.length) transceiver.setCodecPreferences([...preferred, ...rest]);
  const parameters = transceiver.sender.getParameters();
  parameters.encodings = parameters.encodings?.length ? parameters.encodings : [{}];
  parameters.encodings[0]!.maxBitrate = options.maxBitrateKbps * 1000;
  await pc.setLocalDescription(await pc.createOffer());
  await transceiver.sender.setParameters(parameters).catch(() => {});
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
    setTimeout(resolve, 3000);
  });
  return pc.localDescription!.sdp;
}

/** Receiver page: answers, and shows the track in a `<video data-testid="remote-video">`. */
export async function bareReceiverAnswer(offerSdp: string): Promise<string> {
  const w = window as unknown as { __benchPc?: RTCPeerConnection; __benchMarkClick(): void };
  w.__benchMarkClick();
  const pc = new RTCPeerConnection({ iceServers: [] });
  w.__benchPc = pc;
  const video = document.createElement('video');
  video.dataset.testid = 'remote-video';
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.width = 640;
  document.body.append(video);
  pc.addEventListener('track', (event) => {
    video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    void video.play().catch(() => {});
  });
  await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
    setTimeout(resolve, 3000);
  });
  return pc.localDescription!.sdp;
}

/** Sender page: applies the answer. */
export async function bareSenderAnswer(answerSdp: string): Promise<void> {
  const pc = (window as unknown as { __benchPc: RTCPeerConnection }).__benchPc;
  await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
}

/** Receiver page: the inbound video codec and the selected candidate pair's local type. */
export async function bareReceiverInfo(): Promise<{ codec: string; candidateType: string }> {
  const pc = (window as unknown as { __benchPc: RTCPeerConnection }).__benchPc;
  const report = await pc.getStats();
  let codec = '';
  let candidateType = '';
  const byId = new Map<string, Record<string, unknown>>();
  report.forEach((entry: Record<string, unknown>) => byId.set(entry.id as string, entry));
  for (const entry of byId.values()) {
    if (entry.type === 'inbound-rtp' && entry.kind === 'video' && entry.codecId) {
      codec = String(byId.get(entry.codecId as string)?.mimeType ?? '').replace(/^video\//, '');
    }
    if (entry.type === 'transport' && entry.selectedCandidatePairId) {
      const pair = byId.get(entry.selectedCandidatePairId as string);
      candidateType = String(byId.get(pair?.localCandidateId as string)?.candidateType ?? '');
    }
  }
  return { codec, candidateType };
}

/** Viewer pages: the collected state (samples copied out). */
export function readBenchState(): BenchViewerState | null {
  const state = (window as unknown as { __bench?: BenchViewerState }).__bench;
  return state ? { ...state, samples: [...state.samples] } : null;
}
