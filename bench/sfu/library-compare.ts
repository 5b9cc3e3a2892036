/**
 * `tsx bench/sfu/library-compare.ts [--subscribers 20] [--seconds 10] [--libs ndc,werift]`
 *
 * Why the SFU uses node-datachannel: the forwarding process's CPU per forwarded stream per
 * subscriber, for each candidate library, with the same clients (node-datachannel, in this
 * process) and the same media (720p30-sized H.264 RTP at ~2.5 Mbit/s). `ndc` runs the real
 * server/sfu code (SfuService); `werift` runs a minimal werift forwarder (pure TypeScript; not a
 * dependency: `npm i --no-save werift@0.25.2` first). @roamhq/wrtc re-encodes when it forwards
 * and mediasoup does not install here, so neither is measured. Prints a table; one-off.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PublisherClient, SubscriberClient, rtpPacket } from '../../test/support/webrtc-client';
import { readCpuMs, readRssBytes } from '../common/processes';
import { framePayloads } from './media';

type Lib = 'ndc' | 'werift';

interface WeriftSender {
  sendRtp(rtp: unknown): Promise<void>;
}
interface WeriftTrack {
  kind: string;
  onReceiveRtp: { subscribe(cb: (rtp: unknown) => void): void };
}
interface WeriftPeer {
  onTrack: { subscribe(cb: (track: WeriftTrack) => void): void };
  setRemoteDescription(d: { type: 'offer'; sdp: string }): Promise<void>;
  createAnswer(): Promise<unknown>;
  setLocalDescription(d: unknown): Promise<void>;
  getTransceivers(): Array<{ kind: string; sender: WeriftSender; setDirection(d: string): void }>;
  iceGatheringState: string;
  localDescription: { sdp: string } | null;
}
interface WeriftModule {
  RTCPeerConnection: new (config: unknown) => WeriftPeer;
  RTCRtpCodecParameters: new (init: Record<string, unknown>) => unknown;
}
type Request = { id: number; kind: 'pub' | 'sub'; sdp: string };

async function forwarder(lib: Lib): Promise<(kind: 'pub' | 'sub', sdp: string) => Promise<string>> {
  if (lib === 'ndc') {
    const { SfuService } = await import('../../server/sfu/sfu-service');
    const { createLogger } = await import('../../server/logger');
    const service = new SfuService({
      config: { udpPort: 0, publicIp: null, maxViewers: 10_000, publisherKbps: 8000 },
      log: createLogger('silent'),
      onDemand: () => {},
    });
    await service.start();
    const room = '100001' as never;
    return async (kind, sdp) => {
      const result =
        kind === 'pub'
          ? await service.publish(room, sdp)
          : await service.subscribe(room, sdp, 'sfu');
      if (!result.ok) throw new Error(result.message);
      return result.value.sdp;
    };
  }
  // Not a dependency (see above): typed here by the little this forwarder uses.
  const werift = (await import('werift' as string)) as WeriftModule;
  const codecs = {
    video: [
      new werift.RTCRtpCodecParameters({
        mimeType: 'video/H264',
        clockRate: 90000,
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      }),
    ],
    audio: [
      new werift.RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 }),
    ],
  };
  const senders: Array<{ sendRtp(rtp: unknown): Promise<void> }> = [];
  const answer = async (pc: WeriftPeer) => {
    await pc.setLocalDescription(await pc.createAnswer());
    while (pc.iceGatheringState !== 'complete') await new Promise((r) => setTimeout(r, 20));
    return pc.localDescription!.sdp;
  };
  return async (kind, sdp) => {
    const pc = new werift.RTCPeerConnection({ codecs, iceUseIpv6: false });
    if (kind === 'pub') {
      pc.onTrack.subscribe((track) => {
        if (track.kind !== 'video') return;
        track.onReceiveRtp.subscribe((rtp) => {
          for (const sender of senders) void sender.sendRtp(rtp).catch(() => {});
        });
      });
      await pc.setRemoteDescription({ type: 'offer', sdp });
      return answer(pc);
    }
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const video = pc.getTransceivers().find((t) => t.kind === 'video')!;
    video.setDirection('sendonly');
    senders.push(video.sender as never);
    return answer(pc);
  };
}

async function child(lib: Lib): Promise<void> {
  const handle = await forwarder(lib);
  process.on('message', async (req: Request) => {
    try {
      process.send!({ id: req.id, sdp: await handle(req.kind, req.sdp) });
    } catch (err) {
      process.send!({ id: req.id, error: (err as Error).message });
    }
  });
  process.send!({ id: 0, ready: true });
}

async function measure(lib: Lib, subscribers: number, seconds: number) {
  const proc = fork(fileURLToPath(import.meta.url), ['--child', lib], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters = new Map<number, (m: { sdp?: string; error?: string }) => void>();
  proc.on('message', (m: { id: number; sdp?: string; error?: string }) => waiters.get(m.id)?.(m));
  await new Promise<void>((resolve) => waiters.set(0, () => resolve()));
  let next = 1;
  const ask = (kind: 'pub' | 'sub', sdp: string) =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      waiters.set(id, (m) => (m.sdp ? resolve(m.sdp) : reject(new Error(m.error))));
      proc.send({ id, kind, sdp } satisfies Request);
    });
  const pub = new PublisherClient();
  const subs = Array.from(
    { length: subscribers },
    () => new SubscriberClient({ audio: false, onRtp: () => received++ }),
  );
  let received = 0;
  try {
    await pub.accept(await ask('pub', await pub.offer()));
    for (const sub of subs) await sub.accept(await ask('sub', await sub.offer()));
    let frame = 0;
    let seq = 1;
    const tick = setInterval(() => {
      const payloads = framePayloads(
        frame % 30 === 0 ? 31_000 : 8_900,
        frame % 30 === 0,
        frame,
        1,
        Date.now(),
      );
      payloads.forEach((payload, i) =>
        pub.video.sendMessageBinary(
          rtpPacket({
            payloadType: 102,
            sequence: seq++,
            timestamp: frame * 3000,
            ssrc: pub.videoSsrc,
            marker: i === payloads.length - 1,
            payload,
          }),
        ),
      );
      frame++;
    }, 1000 / 30);
    await new Promise((r) => setTimeout(r, 2000));
    received = 0;
    const sentBefore = seq;
    const cpu0 = readCpuMs(proc.pid!)!;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpuPct = ((readCpuMs(proc.pid!)! - cpu0) / (Date.now() - t0)) * 100;
    const sent = seq - sentBefore;
    clearInterval(tick);
    return {
      lib,
      subscribers,
      cpuPct,
      cpuPerSubscriberPct: cpuPct / subscribers,
      deliveredPct: (received / (sent * subscribers)) * 100,
      rssMb: (readRssBytes(proc.pid!) ?? 0) / 2 ** 20,
    };
  } finally {
    for (const sub of subs) sub.close();
    pub.close();
    proc.kill('SIGKILL');
  }
}

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    subscribers: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '10' },
    libs: { type: 'string', default: 'ndc,werift' },
  },
});
if (values.child) {
  await child(values.child as Lib);
} else {
  for (const lib of values.libs.split(',') as Lib[]) {
    try {
      const r = await measure(lib, Number(values.subscribers), Number(values.seconds));
      console.log(
        `${r.lib}: ${r.subscribers} subscribers, forwarder CPU ${r.cpuPct.toFixed(1)} % of a core ` +
          `(${r.cpuPerSubscriberPct.toFixed(2)} % per forwarded stream per subscriber), delivered ` +
          `${r.deliveredPct.toFixed(1)} % of packets, RSS ${r.rssMb.toFixed(0)} MB`,
      );
    } catch (err) {
      console.log(`${lib}: failed: ${(err as Error).message}`);
    }
  }
  process.exit(0);
}
