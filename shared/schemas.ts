import { z } from 'zod';
import { LIMITS, MEDIA_PATHS, ROOM_CODE_PATTERN } from './constants';

/** A six-digit room code, branded so a bare string can't be passed where a code is meant. */
export const RoomCodeSchema = z.string().regex(ROOM_CODE_PATTERN).brand<'RoomCode'>();
export type RoomCode = z.infer<typeof RoomCodeSchema>;

/** A server-assigned client id (the Socket.IO socket id). */
export const PeerIdSchema = z.string().min(1).max(LIMITS.maxPeerIdChars);
export type PeerId = z.infer<typeof PeerIdSchema>;

export const MediaPathSchema = z.enum(MEDIA_PATHS);

export const IceServerSchema = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof IceServerSchema>;

/**
 * How a viewer receives media: a WebRTC peer connection to the broadcaster (direct or TURN), the
 * server relay, or WebRTC to the server's SFU.
 */
export const ViewerModeSchema = z.enum(['webrtc', 'relay', 'sfu']);
export type ViewerMode = z.infer<typeof ViewerModeSchema>;

/** Why a viewer is on the relay: it asked (`forced` by ?path=relay), WebRTC failed, or overflow. */
export const ModeReasonSchema = z.enum(['forced', 'fallback', 'overflow', 'uplink_saturated']);
export type ModeReason = z.infer<typeof ModeReasonSchema>;

export const LadderSettingsSchema = z.object({
  /** No media over WebRTC after this long → switch to the relay. */
  mediaTimeoutMs: z.number().int().min(0),
  /** While on the relay, try WebRTC again this often. */
  retryIntervalMs: z.number().int().min(0),
});
export type LadderSettings = z.infer<typeof LadderSettingsSchema>;

// ---- client → server -------------------------------------------------------------------

export const CreateRoomSchema = z.strictObject({
  /** Listed rooms appear on the home page; unlisted ones are reachable by code only. */
  listed: z.boolean().optional(),
  title: z.string().trim().max(LIMITS.maxTitleChars).optional(),
  /**
   * The broadcaster makes no peer connections (its ?path=relay): the server serves every viewer
   * over the relay (`mode: 'relay'`, `modeReason: 'forced'`). Kept across reclaim_room.
   */
  relayOnly: z.boolean().optional(),
  /** Viewers must send it in join_room; stored scrypt-hashed. Empty means none. */
  password: z.string().max(LIMITS.maxPasswordChars).optional(),
});
export type CreateRoomRequest = z.infer<typeof CreateRoomSchema>;

export const ReclaimRoomSchema = z.strictObject({
  roomId: RoomCodeSchema,
  broadcasterToken: z.string().min(16).max(256),
  /**
   * Only used when the room no longer exists (a server restart): it is re-created under the
   * same code with these settings, as in create_room.
   */
  listed: z.boolean().optional(),
  title: z.string().trim().max(LIMITS.maxTitleChars).optional(),
  relayOnly: z.boolean().optional(),
  password: z.string().max(LIMITS.maxPasswordChars).optional(),
});
export type ReclaimRoomRequest = z.infer<typeof ReclaimRoomSchema>;

export const JoinRoomSchema = z.strictObject({
  roomId: RoomCodeSchema,
  /** For password rooms; a wrong or missing one answers ROOM_NOT_FOUND, like a missing room. */
  password: z.string().max(LIMITS.maxPasswordChars).optional(),
});
export type JoinRoomRequest = z.infer<typeof JoinRoomSchema>;

export const LeaveRoomSchema = z.strictObject({}).optional();

export const SessionDescriptionSchema = z.strictObject({
  type: z.enum(['offer', 'answer', 'pranswer', 'rollback']),
  sdp: z.string().max(LIMITS.maxSdpChars).optional(),
});

export const IceCandidateSchema = z.strictObject({
  candidate: z.string().max(LIMITS.maxCandidateChars),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});

/** Exactly one of `description` or `candidate`. `candidate: null` marks end-of-candidates. */
export const SignalSchema = z
  .strictObject({
    to: PeerIdSchema,
    description: SessionDescriptionSchema.optional(),
    candidate: IceCandidateSchema.nullable().optional(),
  })
  .refine((s) => (s.description === undefined) !== (s.candidate === undefined), {
    message: 'exactly one of description or candidate',
  });
export type SignalRequest = z.infer<typeof SignalSchema>;

const finite = (max: number) => z.number().finite().min(0).max(max);

/** What one RTCPeerConnection's getStats boils down to, in either direction. */
export const PeerStatsDigestSchema = z.strictObject({
  path: MediaPathSchema,
  /** e.g. AV1, VP9, H264, VP8; empty until media flows. */
  codec: z.string().max(LIMITS.maxCodecNameChars),
  bitrateKbps: finite(1_000_000),
  fps: finite(1000),
  width: z.number().int().min(0).max(16384),
  height: z.number().int().min(0).max(16384),
  rttMs: finite(600_000).nullable(),
  lossPct: finite(100).nullable(),
  /** Local candidate type of the selected pair: host, srflx, prflx, relay. */
  candidateType: z.string().max(16).nullable(),
  /** Transport protocol of the selected pair (udp, tcp) and, for TURN, the relay protocol. */
  protocol: z.string().max(8).nullable(),
  /** outbound-rtp qualityLimitationReason, broadcaster side only. */
  qualityLimitation: z.enum(['none', 'cpu', 'bandwidth', 'other']).nullable().optional(),
  /** Why the viewer is on this path, in plain words ("UDP blocked; using TURN over TCP"). */
  pathReason: z.string().max(160).nullable().optional(),
});
export type PeerStatsDigest = z.infer<typeof PeerStatsDigestSchema>;

export const StatsReportSchema = z.discriminatedUnion('role', [
  z.strictObject({
    role: z.literal('viewer'),
    inbound: PeerStatsDigestSchema,
  }),
  z.strictObject({
    role: z.literal('broadcaster'),
    totalUploadKbps: finite(10_000_000),
    peers: z
      .array(PeerStatsDigestSchema.extend({ viewerId: PeerIdSchema }))
      .max(LIMITS.maxStatsPeers),
  }),
]);
export type StatsReport = z.infer<typeof StatsReportSchema>;

/** Viewer → server: serve me over the relay from now on (ack null). */
export const RelaySubscribeSchema = z.strictObject({ reason: ModeReasonSchema });
export type RelaySubscribeRequest = z.infer<typeof RelaySubscribeSchema>;

/** Viewer → server: WebRTC works again, stop relaying to me (ack null). */
export const RelayUnsubscribeSchema = z.strictObject({});

/**
 * Viewer → server: ask the broadcaster for a fresh offer (ladder retry, recovery). The ack
 * carries freshly minted `{ iceServers }` for the viewer's new peer connection.
 */
export const RequestOfferSchema = z.strictObject({});

/** Viewer → server: my relay decoder needs a keyframe (no ack; rate-limited). */
export const KeyframeRequestSchema = z.strictObject({});

export const ChatSendSchema = z.strictObject({
  text: z.string().trim().min(1).max(LIMITS.maxChatChars),
});
export type ChatSendRequest = z.infer<typeof ChatSendSchema>;

// ---- server → client -------------------------------------------------------------------

export const WelcomeSchema = z.object({
  clientId: PeerIdSchema,
  protocolVersion: z.number().int(),
  iceServers: z.array(IceServerSchema),
  /** The server wants BROADCAST_TOKEN in the handshake `auth.token` before create_room. */
  broadcastTokenRequired: z.boolean().optional(),
});
export type Welcome = z.infer<typeof WelcomeSchema>;

export const CreateRoomResultSchema = z.object({
  roomId: RoomCodeSchema,
  broadcasterToken: z.string(),
  iceServers: z.array(IceServerSchema),
  /** Viewers already in the room (non-empty only after a reclaim). */
  viewers: z.array(PeerIdSchema),
  /** The subset of `viewers` served by the relay: the broadcaster makes no peer connection for them. */
  relayViewers: z.array(PeerIdSchema),
});
export type CreateRoomResult = z.infer<typeof CreateRoomResultSchema>;

export const JoinRoomResultSchema = z.object({
  roomId: RoomCodeSchema,
  broadcasterId: PeerIdSchema,
  /** False while the broadcaster is within its reclaim grace period. */
  broadcasterOnline: z.boolean(),
  title: z.string(),
  iceServers: z.array(IceServerSchema),
  /** How the server wants this viewer served first; `relay` when the mesh is full (overflow). */
  mode: ViewerModeSchema,
  modeReason: ModeReasonSchema.nullable(),
  /** False when the server relay is switched off; the ladder then stops at TURN. */
  relayAvailable: z.boolean(),
  ladder: LadderSettingsSchema,
  /** The public HLS mirror is on: the last rung, and the "switch to HLS" offer. */
  hlsMirror: z.boolean(),
});
export type JoinRoomResult = z.infer<typeof JoinRoomResultSchema>;

export const ViewerEventSchema = z.object({
  viewerId: PeerIdSchema,
  /** Present on viewer_joined: `relay` viewers get no WebRTC offer. */
  mode: ViewerModeSchema.optional(),
  /**
   * On viewer_joined for a `webrtc` viewer: freshly minted STUN/TURN servers (TURN credentials
   * bound to the broadcaster's client id) for that viewer's peer connection, so new viewers
   * hours into a broadcast don't get the create ack's expired credentials.
   */
  iceServers: z.array(IceServerSchema).optional(),
});
export type ViewerEvent = z.infer<typeof ViewerEventSchema>;

/** To the broadcaster: a viewer wants a fresh offer; `iceServers` are freshly minted for it. */
export interface OfferRequested {
  viewerId: string;
  iceServers?: IceServer[];
}

/** The request_offer ack: fresh ICE servers (with TURN credentials) for the viewer's retry. */
export interface RequestOfferResult {
  iceServers: IceServer[];
}

export const SignalMessageSchema = z.object({
  from: PeerIdSchema,
  description: SessionDescriptionSchema.optional(),
  candidate: IceCandidateSchema.nullable().optional(),
});
export type SignalMessage = z.infer<typeof SignalMessageSchema>;

export const ViewerSummarySchema = PeerStatsDigestSchema.extend({
  viewerId: PeerIdSchema,
  joinedAt: z.number(),
});
export type ViewerSummary = z.infer<typeof ViewerSummarySchema>;

export const StatsSummarySchema = z.object({
  roomId: RoomCodeSchema,
  at: z.number(),
  viewerCount: z.number().int().min(0),
  /** Viewers per media path, e.g. { direct: 3, turn: 0, relay: 0, hls: 0 }. */
  pathCounts: z.record(MediaPathSchema, z.number().int().min(0)),
  broadcaster: z.object({
    online: z.boolean(),
    uploadKbps: z.number().min(0),
  }),
  viewers: z.array(ViewerSummarySchema),
  /** The public HLS mirror is on (viewers can offer "switch to HLS"). */
  hlsMirror: z.boolean(),
});
export type StatsSummary = z.infer<typeof StatsSummarySchema>;

export const ChatMessageSchema = z.object({
  id: z.string(),
  roomId: RoomCodeSchema,
  from: PeerIdSchema,
  role: z.enum(['broadcaster', 'viewer']),
  /** Short display name derived by the server, e.g. "Host" or "Viewer 3f2a". */
  name: z.string(),
  text: z.string(),
  at: z.number(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const RoomClosedSchema = z.object({
  roomId: RoomCodeSchema,
  reason: z.enum(['broadcaster_left', 'grace_expired', 'closed_by_admin', 'server_shutdown']),
});
export type RoomClosed = z.infer<typeof RoomClosedSchema>;

export const BroadcasterStatusSchema = z.object({
  roomId: RoomCodeSchema,
  broadcasterId: PeerIdSchema,
  online: z.boolean(),
});
export type BroadcasterStatus = z.infer<typeof BroadcasterStatusSchema>;

/** Server → broadcaster: run the WebCodecs upstream only while this says `active`. */
export const RelayDemandSchema = z.object({
  active: z.boolean(),
  relayViewers: z.number().int().min(0),
  /** Egress (HLS/RTMP) wants H.264 so ffmpeg can copy it. */
  preferH264: z.boolean(),
});
export type RelayDemand = z.infer<typeof RelayDemandSchema>;

export const ListedRoomSchema = z.object({
  roomId: RoomCodeSchema,
  title: z.string(),
  viewerCount: z.number().int().min(0),
  startedAt: z.number(),
});
export type ListedRoom = z.infer<typeof ListedRoomSchema>;
