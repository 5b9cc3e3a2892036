import { z } from 'zod';
import {
  ackError,
  type AckResult,
  type MediaPath,
  type RoomCode,
  type ViewerMode,
} from '../shared/index';
import type { Caller } from './caller';
import type { RateLimitKind } from './rate-limit';
import type { RoomSnapshot } from './room-registry';

export type EventRoute = 'here' | 'by-code' | 'by-membership';

/**
 * One client event: its schema, its per-socket limit, where it runs (`here`: on the node holding
 * the socket; `by-code`: on the home node of the room named in the payload; `by-membership`: on
 * the home node of the sender's room), and its handler.
 */
export interface EventSpec {
  schema: z.ZodType;
  rateLimit: RateLimitKind;
  route: EventRoute;
  run: (caller: Caller, payload: unknown) => AckResult<unknown> | Promise<AckResult<unknown>>;
}

/**
 * A feature module (server/sfu today) that brings its own client events and follows rooms'
 * lives, so a new protocol adds a folder instead of lines in signalling.ts. Every hook is
 * optional; Signalling calls them after its own work.
 */
export interface SignallingFeature {
  /** Client events this feature handles (names listed in shared/, payloads parsed by `schema`). */
  events?: Partial<Record<string, EventSpec>>;
  /** Where an overflow viewer (mesh full, uplink saturated) goes before the relay; null: not here. */
  overflowMode?(room: RoomSnapshot): ViewerMode | null;
  viewerLeft?(roomId: RoomCode, viewerId: string): void;
  /** A new broadcaster socket took the room over (reclaim). */
  broadcasterChanged?(roomId: RoomCode): void;
  roomClosed?(roomId: RoomCode): void;
  /** Watchers who are not room members (e.g. WHEP players), per path, for stats_summary. */
  audience?(roomId: RoomCode): Partial<Record<MediaPath, number>>;
}

/** The spec for an event no module handles here (a feature not wired in on this node). */
export const UNHANDLED_EVENT: EventSpec = {
  schema: z.unknown(),
  rateLimit: 'request',
  route: 'here',
  run: () => ackError('INVALID_PAYLOAD', 'Unknown event.'),
};
