import { z } from 'zod';
import { LIMITS, VIDEO_CODECS } from './constants';
import type { AckResult } from './errors';
import { ModeReasonSchema } from './schemas';

/**
 * The server WebRTC rung (SFU): the broadcaster publishes one upstream copy to the server, which
 * forwards its RTP untouched to SFU viewers and WHEP players. The client always offers and the
 * server answers (as in WHIP/WHEP); the server takes no candidates from clients, it learns their
 * addresses from authenticated ICE checks, so nothing needs trickling to it.
 */

export const SFU_CLIENT_EVENT_NAMES = [
  'sfu_publish',
  'sfu_unpublish',
  'sfu_subscribe',
  'sfu_unsubscribe',
] as const;

/** How long sfu_subscribe (and a WHEP POST) waits for the broadcaster's upstream to arrive. */
export const SFU_PUBLISHER_WAIT_MS = 10_000;
/** The client's ack timeout for sfu_subscribe: the wait above plus the answer. */
export const SFU_SUBSCRIBE_TIMEOUT_MS = SFU_PUBLISHER_WAIT_MS + 5000;

/** Video codecs the SFU forwards, in the order it prefers them from a publisher. */
export const SFU_CODEC_ORDER = [
  'H264',
  'VP8',
  'VP9',
  'AV1',
] as const satisfies readonly (typeof VIDEO_CODECS)[number][];

/** An SDP offer from a client: bounded like `signal` descriptions. */
export const SdpOfferSchema = z.string().min(1).max(LIMITS.maxSdpChars);

/** Broadcaster → server: its upstream offer (sendonly audio + video). Ack: SfuAnswer. */
export const SfuPublishSchema = z.strictObject({ sdp: SdpOfferSchema });
export type SfuPublishRequest = z.infer<typeof SfuPublishSchema>;

/** Viewer → server: a recvonly offer, and why it comes to the SFU. Ack: SfuAnswer. */
export const SfuSubscribeSchema = z.strictObject({
  sdp: SdpOfferSchema,
  reason: ModeReasonSchema,
});
export type SfuSubscribeRequest = z.infer<typeof SfuSubscribeSchema>;

/** Broadcaster: stop the upstream; viewer: leave the SFU (ack null). */
export const SfuLeaveSchema = z.strictObject({});

export const SfuAnswerSchema = z.object({
  sdp: z.string(),
  /** The room's video codec on the SFU (e.g. H264), or null for an audio-only upstream. */
  codec: z.enum(VIDEO_CODECS).nullable(),
});
export type SfuAnswer = z.infer<typeof SfuAnswerSchema>;

/** Server → broadcaster: publish the upstream copy while `active` (SFU viewers or WHEP players). */
export const SfuDemandSchema = z.object({
  active: z.boolean(),
  /** SFU viewers plus WHEP players waiting for or receiving the upstream. */
  subscribers: z.number().int().min(0),
});
export type SfuDemand = z.infer<typeof SfuDemandSchema>;

type Ack<T> = (result: AckResult<T>) => void;

export interface SfuClientToServerEvents {
  sfu_publish: (payload: SfuPublishRequest, ack: Ack<SfuAnswer>) => void;
  sfu_unpublish: (payload: Record<string, never>, ack: Ack<null>) => void;
  sfu_subscribe: (payload: SfuSubscribeRequest, ack: Ack<SfuAnswer>) => void;
  sfu_unsubscribe: (payload: Record<string, never>, ack: Ack<null>) => void;
}

export interface SfuServerToClientEvents {
  sfu_demand: (payload: SfuDemand) => void;
}

/** WHEP (draft-ietf-wish-whep) endpoint paths for a room and one playback session. */
export const whepEndpointPath = (roomId: string): string => `/whep/${roomId}`;
