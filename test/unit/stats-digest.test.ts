import { describe, expect, it } from 'vitest';
import { PeerStatsDigestSchema } from '../../shared/index';
import {
  digestInboundStats,
  digestOutboundStats,
  pathFromCandidateType,
} from '../../client/src/lib/stats-digest';

type Stat = Record<string, unknown>;

// Trimmed from a real headless Chromium 156 getStats() (two PCs on one machine, VP8 forced).
// Two nominated pairs exist; the transport's selectedCandidatePairId names the one in use.
function inboundFixture(over: { video?: Stat; local?: Stat; codecMime?: string } = {}): Stat[] {
  return [
    {
      id: 'CIT01_111_minptime=10;useinbandfec=1',
      timestamp: 1795290400478.396,
      type: 'codec',
      channels: 2,
      clockRate: 48000,
      mimeType: 'audio/opus',
      payloadType: 111,
      sdpFmtpLine: 'minptime=10;useinbandfec=1',
      transportId: 'T01',
    },
    {
      id: 'CIT01_96',
      timestamp: 1795290400478.396,
      type: 'codec',
      clockRate: 90000,
      mimeType: over.codecMime ?? 'video/VP8',
      payloadType: 96,
      transportId: 'T01',
    },
    {
      id: 'CPRDW426AB_j5YWR1zy',
      type: 'candidate-pair',
      availableOutgoingBitrate: 300000,
      bytesReceived: 94192,
      bytesSent: 3046,
      currentRoundTripTime: 0.003,
      localCandidateId: 'IRDW426AB',
      nominated: true,
      remoteCandidateId: 'Ij5YWR1zy',
      state: 'succeeded',
      totalRoundTripTime: 0.007,
      transportId: 'T01',
      writable: true,
    },
    {
      id: 'CPtTdIVm8i_dEFwf2to',
      type: 'candidate-pair',
      bytesReceived: 4026,
      bytesSent: 2003,
      currentRoundTripTime: 0.002,
      localCandidateId: 'ItTdIVm8i',
      nominated: true,
      remoteCandidateId: 'IdEFwf2to',
      state: 'succeeded',
      transportId: 'T01',
      writable: true,
    },
    {
      id: 'IRDW426AB',
      type: 'local-candidate',
      address: 'fd00::2',
      candidateType: 'host',
      ip: 'fd00::2',
      isRemote: false,
      networkType: 'ethernet',
      port: 56087,
      protocol: 'udp',
      transportId: 'T01',
      ...over.local,
    },
    {
      id: 'ItTdIVm8i',
      type: 'local-candidate',
      address: '192.0.2.2',
      candidateType: 'host',
      isRemote: false,
      port: 46286,
      protocol: 'udp',
      transportId: 'T01',
    },
    {
      id: 'Ij5YWR1zy',
      type: 'remote-candidate',
      address: 'fd00::2',
      candidateType: 'host',
      isRemote: true,
      port: 37530,
      protocol: 'udp',
      transportId: 'T01',
    },
    {
      id: 'IT01A2242053411',
      type: 'inbound-rtp',
      codecId: 'CIT01_111_minptime=10;useinbandfec=1',
      kind: 'audio',
      mediaType: 'audio',
      ssrc: 2242053411,
      transportId: 'T01',
      jitter: 0.003,
      packetsLost: 0,
      packetsReceived: 198,
      bytesReceived: 10648,
      mid: '0',
    },
    {
      id: 'IT01V204014281',
      type: 'inbound-rtp',
      codecId: 'CIT01_96',
      kind: 'video',
      mediaType: 'video',
      ssrc: 204014281,
      transportId: 'T01',
      jitter: 0.005,
      packetsLost: 4,
      packetsReceived: 96,
      bytesReceived: 70977,
      decoderImplementation: 'libvpx',
      frameHeight: 180,
      frameWidth: 318,
      framesDecoded: 76,
      framesDropped: 0,
      framesPerSecond: 19,
      framesReceived: 76,
      keyFramesDecoded: 1,
      mid: '1',
      ...over.video,
    },
    {
      id: 'T01',
      type: 'transport',
      bytesReceived: 98218,
      bytesSent: 5049,
      dtlsState: 'connected',
      iceRole: 'controlled',
      iceState: 'connected',
      selectedCandidatePairChanges: 2,
      selectedCandidatePairId: 'CPRDW426AB_j5YWR1zy',
    },
  ];
}

function outboundFixture(over: { video?: Stat; remoteVideo?: Stat } = {}): Stat[] {
  return [
    { id: 'COT01_45', type: 'codec', clockRate: 90000, mimeType: 'video/AV1', payloadType: 45 },
    {
      id: 'COT01_111',
      type: 'codec',
      clockRate: 48000,
      mimeType: 'audio/opus',
      payloadType: 111,
    },
    {
      id: 'CPPzmx92mz_/MJeKdNn',
      type: 'candidate-pair',
      availableOutgoingBitrate: 1401991,
      currentRoundTripTime: 0.001,
      localCandidateId: 'IPzmx92mz',
      nominated: true,
      remoteCandidateId: 'I/MJeKdNn',
      state: 'succeeded',
      transportId: 'T01',
    },
    {
      id: 'IPzmx92mz',
      type: 'local-candidate',
      address: 'fd00::2',
      candidateType: 'host',
      isRemote: false,
      protocol: 'udp',
      transportId: 'T01',
    },
    {
      id: 'I/MJeKdNn',
      type: 'remote-candidate',
      address: 'fd00::2',
      candidateType: 'host',
      isRemote: true,
      protocol: 'udp',
      transportId: 'T01',
    },
    {
      id: 'OT01A2242053411',
      type: 'outbound-rtp',
      codecId: 'COT01_111',
      kind: 'audio',
      ssrc: 2242053411,
      bytesSent: 10648,
      packetsSent: 198,
      remoteId: 'RIA2242053411',
      targetBitrate: 32000,
    },
    {
      id: 'OT01V204014281',
      type: 'outbound-rtp',
      codecId: 'COT01_45',
      kind: 'video',
      mediaType: 'video',
      ssrc: 204014281,
      transportId: 'T01',
      bytesSent: 70977,
      packetsSent: 96,
      active: true,
      encoderImplementation: 'libaom',
      frameHeight: 720,
      frameWidth: 1280,
      framesEncoded: 76,
      framesPerSecond: 30,
      framesSent: 76,
      qualityLimitationReason: 'bandwidth',
      remoteId: 'RIV204014281',
      scalabilityMode: 'L1T1',
      targetBitrate: 600000,
      ...over.video,
    },
    {
      id: 'RIA2242053411',
      type: 'remote-inbound-rtp',
      kind: 'audio',
      ssrc: 2242053411,
      packetsLost: 0,
      fractionLost: 0,
      localId: 'OT01A2242053411',
      roundTripTime: 0.001297,
    },
    {
      id: 'RIV204014281',
      type: 'remote-inbound-rtp',
      codecId: 'COT01_45',
      kind: 'video',
      ssrc: 204014281,
      jitter: 0.005788,
      packetsLost: 2,
      fractionLost: 0.015625,
      localId: 'OT01V204014281',
      roundTripTime: 0.014694,
      roundTripTimeMeasurements: 3,
      ...over.remoteVideo,
    },
    {
      id: 'T01',
      type: 'transport',
      dtlsState: 'connected',
      iceState: 'connected',
      selectedCandidatePairId: 'CPPzmx92mz_/MJeKdNn',
    },
  ];
}

describe('pathFromCandidateType', () => {
  it('maps relay to turn and everything else to direct', () => {
    expect(pathFromCandidateType('relay')).toBe('turn');
    expect(pathFromCandidateType('host')).toBe('direct');
    expect(pathFromCandidateType('srflx')).toBe('direct');
    expect(pathFromCandidateType('prflx')).toBe('direct');
    expect(pathFromCandidateType(null)).toBe('direct');
  });
});

describe('digestInboundStats', () => {
  it('digests a real Chrome report (first sample: no bitrate yet)', () => {
    const { digest, snapshot } = digestInboundStats(inboundFixture(), null, 10_000);
    expect(digest).toEqual({
      path: 'direct',
      codec: 'VP8',
      bitrateKbps: 0,
      fps: 19,
      width: 318,
      height: 180,
      rttMs: 3,
      lossPct: 4,
      candidateType: 'host',
      protocol: 'udp',
    });
    expect(snapshot).toEqual({ at: 10_000, bytes: 70977 + 10648, frames: 76 });
    expect(PeerStatsDigestSchema.safeParse(digest).success).toBe(true);
  });

  it('computes bitrate from the byte delta and fps from decoded frames when not reported', () => {
    const prev = { at: 10_000, bytes: 70977 + 10648 - 250_000, frames: 46 };
    const stats = inboundFixture({ video: { framesPerSecond: undefined } });
    const { digest } = digestInboundStats(stats, prev, 12_000);
    // 250 kB in 2 s = 1000 kbit/s; 30 frames in 2 s = 15 fps.
    expect(digest.bitrateKbps).toBeCloseTo(1000, 6);
    expect(digest.fps).toBeCloseTo(15, 6);
  });

  it('never reports a negative bitrate when counters reset', () => {
    const prev = { at: 10_000, bytes: 10_000_000, frames: 10_000 };
    const { digest } = digestInboundStats(inboundFixture(), prev, 11_000);
    expect(digest.bitrateKbps).toBe(0);
  });

  it('maps the codec id through the codec stats (AV1, H264)', () => {
    expect(
      digestInboundStats(inboundFixture({ codecMime: 'video/AV1' }), null, 0).digest.codec,
    ).toBe('AV1');
    expect(
      digestInboundStats(inboundFixture({ codecMime: 'video/H264' }), null, 0).digest.codec,
    ).toBe('H264');
  });

  it('reports turn and the relay protocol for a relay local candidate', () => {
    const stats = inboundFixture({
      local: {
        candidateType: 'relay',
        protocol: 'udp',
        relayProtocol: 'tcp',
        url: 'turn:turn.example.org:3478?transport=tcp',
      },
    });
    const { digest } = digestInboundStats(stats, null, 0);
    expect(digest.path).toBe('turn');
    expect(digest.candidateType).toBe('relay');
    expect(digest.protocol).toBe('tcp');
  });

  it('falls back to a selected or nominated+succeeded pair without a transport entry', () => {
    const stats = inboundFixture().filter((s) => s.type !== 'transport');
    const withSelected = stats.map((s) =>
      s.id === 'CPtTdIVm8i_dEFwf2to' ? { ...s, selected: true, currentRoundTripTime: 0.02 } : s,
    );
    expect(digestInboundStats(withSelected, null, 0).digest.rttMs).toBeCloseTo(20, 6);
    // No `selected` flag (Chrome): first nominated+succeeded pair.
    expect(digestInboundStats(stats, null, 0).digest.rttMs).toBeCloseTo(3, 6);
  });

  it('gives a valid empty digest before any media or pair exists', () => {
    const { digest, snapshot } = digestInboundStats([], null, 5);
    expect(digest).toMatchObject({
      path: 'direct',
      codec: '',
      bitrateKbps: 0,
      fps: 0,
      width: 0,
      height: 0,
      rttMs: null,
      lossPct: null,
      candidateType: null,
      protocol: null,
    });
    expect(snapshot).toEqual({ at: 5, bytes: 0, frames: 0 });
    expect(PeerStatsDigestSchema.safeParse(digest).success).toBe(true);
  });

  it('accepts a Map-valued iterable like RTCStatsReport.values()', () => {
    const report = new Map(inboundFixture().map((s) => [s.id as string, s]));
    expect(digestInboundStats(report.values(), null, 0).digest.codec).toBe('VP8');
  });
});

describe('digestOutboundStats', () => {
  it('digests the video outbound-rtp with remote-inbound RTT and loss', () => {
    const prev = { at: 1000, bytes: 70977 + 10648 - 125_000, frames: 46 };
    const { digest, snapshot } = digestOutboundStats(outboundFixture(), prev, 2000);
    expect(digest).toEqual({
      path: 'direct',
      codec: 'AV1',
      bitrateKbps: 1000,
      fps: 30,
      width: 1280,
      height: 720,
      rttMs: 14.694,
      lossPct: 1.5625,
      candidateType: 'host',
      protocol: 'udp',
      qualityLimitation: 'bandwidth',
    });
    expect(snapshot.frames).toBe(76);
    expect(PeerStatsDigestSchema.safeParse(digest).success).toBe(true);
  });

  it('uses the pair RTT before the first RTCP receiver report', () => {
    const stats = outboundFixture().filter((s) => s.type !== 'remote-inbound-rtp');
    const { digest } = digestOutboundStats(stats, null, 0);
    expect(digest.rttMs).toBeCloseTo(1, 6);
    expect(digest.lossPct).toBeNull();
  });

  it('maps unknown quality limitation reasons to other', () => {
    const stats = outboundFixture({ video: { qualityLimitationReason: 'thermal' } });
    expect(digestOutboundStats(stats, null, 0).digest.qualityLimitation).toBe('other');
  });

  it('computes loss from packetsLost when fractionLost is missing', () => {
    const stats = outboundFixture({ remoteVideo: { fractionLost: undefined, packetsLost: 4 } });
    // 4 of the 96 sent were lost.
    expect(digestOutboundStats(stats, null, 0).digest.lossPct).toBeCloseTo((4 / 96) * 100, 6);
  });
});
