import type { AckResult } from './errors';
import type {
  BroadcasterStatus,
  ChatMessage,
  ChatSendRequest,
  CreateRoomRequest,
  CreateRoomResult,
  JoinRoomRequest,
  JoinRoomResult,
  ReclaimRoomRequest,
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
export interface ClientToServerEvents {
  create_room: (payload: CreateRoomRequest, ack: Ack<CreateRoomResult>) => void;
  reclaim_room: (payload: ReclaimRoomRequest, ack: Ack<CreateRoomResult>) => void;
  join_room: (payload: JoinRoomRequest, ack: Ack<JoinRoomResult>) => void;
  leave_room: (payload: Record<string, never>, ack: Ack<null>) => void;
  signal: (payload: SignalRequest, ack?: Ack<null>) => void;
  stats: (payload: StatsReport) => void;
  chat: (payload: ChatSendRequest, ack: Ack<ChatMessage>) => void;
}

export interface ServerToClientEvents {
  welcome: (payload: Welcome) => void;
  viewer_joined: (payload: ViewerEvent) => void;
  viewer_left: (payload: ViewerEvent) => void;
  signal: (payload: SignalMessage) => void;
  stats_summary: (payload: StatsSummary) => void;
  chat: (payload: ChatMessage) => void;
  room_closed: (payload: RoomClosed) => void;
  broadcaster_status: (payload: BroadcasterStatus) => void;
  /** An un-acked message the server refused (for example a bad `stats` payload). */
  protocol_error: (payload: { event: string; code: string; message: string }) => void;
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
] as const satisfies readonly (keyof ClientToServerEvents)[];
