import { describe, expect, it } from 'vitest';
import {
  ChatSendSchema,
  CreateRoomSchema,
  JoinRoomSchema,
  LeaveRoomSchema,
  LIMITS,
  ReclaimRoomSchema,
  SignalSchema,
  StatsReportSchema,
} from '../../shared/index';

const digest = {
  path: 'direct',
  codec: 'AV1',
  bitrateKbps: 1200,
  fps: 30,
  width: 1280,
  height: 720,
  rttMs: 3,
  lossPct: 0,
  candidateType: 'host',
  protocol: 'udp',
};

describe('shared schemas', () => {
  it('join_room accepts exactly six digits as a string', () => {
    expect(JoinRoomSchema.safeParse({ roomId: '012345' }).success).toBe(true);
    for (const roomId of ['12345', '1234567', 'abcdef', 123456, '12345a', ' 123456', '', null]) {
      expect(JoinRoomSchema.safeParse({ roomId }).success, String(roomId)).toBe(false);
    }
    expect(JoinRoomSchema.safeParse({ roomId: '123456', extra: 1 }).success).toBe(false);
    expect(JoinRoomSchema.safeParse(undefined).success).toBe(false);
  });

  it('create_room takes {} or options; rejects junk', () => {
    expect(CreateRoomSchema.safeParse({}).success).toBe(true);
    expect(CreateRoomSchema.safeParse({ listed: true, title: 'My show' }).success).toBe(true);
    expect(CreateRoomSchema.safeParse({ listed: 'yes' }).success).toBe(false);
    expect(
      CreateRoomSchema.safeParse({ title: 'x'.repeat(LIMITS.maxTitleChars + 1) }).success,
    ).toBe(false);
    expect(CreateRoomSchema.safeParse('room').success).toBe(false);
  });

  it('reclaim_room needs a code and a plausible token', () => {
    expect(
      ReclaimRoomSchema.safeParse({ roomId: '123456', broadcasterToken: 'a'.repeat(43) }).success,
    ).toBe(true);
    expect(
      ReclaimRoomSchema.safeParse({ roomId: '123456', broadcasterToken: 'short' }).success,
    ).toBe(false);
  });

  it('leave_room accepts nothing or {}', () => {
    expect(LeaveRoomSchema.safeParse(undefined).success).toBe(true);
    expect(LeaveRoomSchema.safeParse({}).success).toBe(true);
    expect(LeaveRoomSchema.safeParse({ a: 1 }).success).toBe(false);
  });

  it('signal needs exactly one of description or candidate', () => {
    const offer = { type: 'offer', sdp: 'v=0' };
    expect(SignalSchema.safeParse({ to: 'p', description: offer }).success).toBe(true);
    expect(
      SignalSchema.safeParse({ to: 'p', candidate: { candidate: 'c', sdpMid: '0' } }).success,
    ).toBe(true);
    expect(SignalSchema.safeParse({ to: 'p', candidate: null }).success).toBe(true);
    expect(SignalSchema.safeParse({ to: 'p' }).success).toBe(false);
    expect(SignalSchema.safeParse({ to: 'p', description: offer, candidate: null }).success).toBe(
      false,
    );
    expect(SignalSchema.safeParse({ to: 'p', description: { type: 'bogus' } }).success).toBe(false);
    expect(
      SignalSchema.safeParse({
        to: 'p',
        description: { type: 'offer', sdp: 'x'.repeat(LIMITS.maxSdpChars + 1) },
      }).success,
    ).toBe(false);
    expect(SignalSchema.safeParse({ to: 'p', from: 'spoof', description: offer }).success).toBe(
      false,
    );
  });

  it('stats reports are discriminated by role', () => {
    expect(StatsReportSchema.safeParse({ role: 'viewer', inbound: digest }).success).toBe(true);
    expect(
      StatsReportSchema.safeParse({
        role: 'broadcaster',
        totalUploadKbps: 100,
        peers: [{ ...digest, viewerId: 'v1' }],
      }).success,
    ).toBe(true);
    expect(
      StatsReportSchema.safeParse({ role: 'viewer', inbound: { ...digest, fps: -1 } }).success,
    ).toBe(false);
    expect(
      StatsReportSchema.safeParse({ role: 'viewer', inbound: { ...digest, path: 'pigeon' } })
        .success,
    ).toBe(false);
    expect(StatsReportSchema.safeParse({ role: 'admin' }).success).toBe(false);
  });

  it('chat text is trimmed, non-empty and bounded', () => {
    expect(ChatSendSchema.parse({ text: '  hi  ' })).toEqual({ text: 'hi' });
    expect(ChatSendSchema.safeParse({ text: '   ' }).success).toBe(false);
    expect(ChatSendSchema.safeParse({ text: 'x'.repeat(LIMITS.maxChatChars + 1) }).success).toBe(
      false,
    );
    expect(ChatSendSchema.safeParse({ text: 42 }).success).toBe(false);
  });
});
