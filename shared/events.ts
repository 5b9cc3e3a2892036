import type { EgressSetRequest, EgressStatus, RestreamSetRequest } from './egress';
import type { AckResult } from './errors';
import {
  SFU_CLIENT_EVENT_NAMES,
  type SfuClientToServerEvents,
  type SfuServerToClientEvents,
} from './sfu';
import type {
  BroadcasterStatus,
  ChatMessage,
  ChatSendRequest,
  CreateRoomRequest,
  CreateRoomResult,
  JoinRoomRequest,
  JoinRoomResult,
  OfferRequested,
  ReclaimRoomRequest,
  RelayDemand,
  RelaySubscribeRequest,
  RequestOfferResult,
  RoomClosed,
  SignalMessage,
  SignalRequest,
  StatsReport,
  StatsSummary,
  ViewerEvent,
  Welcome,
} from './schemas';

export type Ack<T> = (result: AckResult<T>) => void;

/**
 * Client → server. Payloads are typed here for the client's benefit only; the server
 * treats every argument as `unknown` and parses it with the matching schema.
 */
export interface ClientToServerEvents extends SfuClientToServerEvents {
  create_room: (payload: CreateRoomRequest, ack: Ack<CreateRoomResult>) => void;
  reclaim_room: (payload: ReclaimRoomRequest, ack: Ack<CreateRoomResult>) => void;
  join_room: (payload: JoinRoomRequest, ack: Ack<JoinRoomResult>) => void;
  leave_room: (payload: Record<string, never>, ack: Ack<null>) => void;
  signal: (payload: SignalRequest, ack?: Ack<null>) => void;
  stats: (payload: StatsReport) => void;
  chat: (payload: ChatSendRequest, ack: Ack<ChatMessage>) => void;
  relay_subscribe: (payload: RelaySubscribeRequest, ack: Ack<null>) => void;
  relay_unsubscribe: (payload: Record<string, never>, ack: Ack<null>) => void;
  request_offer: (payload: Record<string, never>, ack: Ack<RequestOfferResult>) => void;
  keyframe_request: (payload: Record<string, never>) => void;
  /** Broadcaster → server: one encoded chunk in the shared/relay-frame.ts envelope. */
  relay_chunk: (frame: ArrayBuffer | Uint8Array) => void;
  /** Broadcaster: the public HLS mirror on/off; the ack is the new egress status. */
  egress_set: (payload: EgressSetRequest, ack: Ack<EgressStatus>) => void;
  /** Broadcaster: one configured RTMP target (by name) on/off. */
  restream_set: (payload: RestreamSetRequest, ack: Ack<EgressStatus>) => void;
}

export interface ServerToClientEvents extends SfuServerToClientEvents {
  welcome: (payload: Welcome) => void;
  viewer_joined: (payload: ViewerEvent) => void;
  viewer_left: (payload: ViewerEvent) => void;
  signal: (payload: SignalMessage) => void;
  stats_summary: (payload: StatsSummary) => void;
  chat: (payload: ChatMessage) => void;
  room_closed: (payload: RoomClosed) => void;
  broadcaster_status: (payload: BroadcasterStatus) => void;
  /**
   * To the broadcaster: a viewer wants a fresh offer (its old peer connection is gone), with
   * freshly minted ICE servers for the new peer connection.
   */
  offer_requested: (payload: OfferRequested) => void;
  /** To the broadcaster: a relay viewer needs a keyframe. */
  keyframe_requested: (payload: Record<string, never>) => void;
  relay_demand: (payload: RelayDemand) => void;
  /** To relay viewers: the broadcaster's bytes, forwarded untouched. */
  relay_chunk: (frame: ArrayBuffer) => void;
  /** An un-acked message the server refused (for example a bad `stats` payload). */
  protocol_error: (payload: { event: string; code: string; message: string }) => void;
  /** To the broadcaster: egress (mirror, restreams, recording) changed state. */
  egress_status: (payload: EgressStatus) => void;
}

/** Events the server knows; anything else is answered with INVALID_PAYLOAD if it has an ack. */
export const CLIENT_EVENT_NAMES = [
  'create_room',
  'reclaim_room',
  'join_room',
  'leave_room',
  'signal',
  'stats',
  'chat',
  'relay_subscribe',
  'relay_unsubscribe',
  'request_offer',
  'keyframe_request',
  'relay_chunk',
  'egress_set',
  'restream_set',
  ...SFU_CLIENT_EVENT_NAMES,
] as const satisfies readonly (keyof ClientToServerEvents)[];
