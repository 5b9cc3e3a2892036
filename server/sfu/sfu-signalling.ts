import {
  ackError,
  ackOk,
  SfuLeaveSchema,
  SfuPublishSchema,
  SfuSubscribeSchema,
  type AckResult,
  type RoomCode,
  type SfuAnswer,
  type SfuPublishRequest,
  type SfuSubscribeRequest,
} from '../../shared/index';
import type { Caller } from '../caller';
import type { RoomRegistry } from '../room-registry';
import type { SignallingFeature } from '../signalling-feature';
import type { SfuService, SubscriberSession } from './sfu-service';

/**
 * The SFU rung's Socket.IO events, as a Signalling feature: `sfu_publish`/`sfu_unpublish` from
 * the broadcaster (its one upstream copy), `sfu_subscribe`/`sfu_unsubscribe` from viewers. It
 * also sends overflow viewers to the SFU before the relay, closes a viewer's session when it
 * leaves, and counts WHEP players in the room's stats.
 */

export interface SfuSignallingDeps {
  service: SfuService;
  registry: RoomRegistry;
  /** Sends `sfu_demand` to the room's broadcaster (after a reclaim too). */
  sendDemand: (roomId: RoomCode) => void;
}

export function sfuSignalling(deps: SfuSignallingDeps): SignallingFeature {
  const { service, registry } = deps;
  /** The SFU session of each viewer socket, by viewer id. */
  const sessions = new Map<string, SubscriberSession>();

  const closeSession = (viewerId: string) => {
    const session = sessions.get(viewerId);
    if (!session) return;
    sessions.delete(viewerId);
    session.close();
  };

  const broadcasterRoom = (caller: Caller): { roomId: RoomCode } | { error: AckResult<never> } => {
    const membership = registry.membershipOf(caller.id);
    if (!membership) return { error: ackError('NOT_IN_ROOM') };
    if (membership.role !== 'broadcaster') return { error: ackError('NOT_BROADCASTER') };
    return { roomId: membership.room.id };
  };

  async function publish(
    caller: Caller,
    payload: SfuPublishRequest,
  ): Promise<AckResult<SfuAnswer>> {
    const room = broadcasterRoom(caller);
    if ('error' in room) return room.error;
    const result = await service.publish(room.roomId, payload.sdp);
    if (!result.ok) return ackError(result.code, result.message);
    caller.log.info({ room: room.roomId, codec: result.value.codec }, 'sfu upstream published');
    return ackOk(result.value);
  }

  function unpublish(caller: Caller): AckResult<null> {
    const room = broadcasterRoom(caller);
    if ('error' in room) return room.error;
    service.unpublish(room.roomId);
    return ackOk(null);
  }

  async function subscribe(
    caller: Caller,
    payload: SfuSubscribeRequest,
  ): Promise<AckResult<SfuAnswer>> {
    const membership = registry.membershipOf(caller.id);
    if (!membership) return ackError('NOT_IN_ROOM');
    if (membership.role !== 'viewer') {
      return ackError('UNAUTHORIZED', 'Only viewers subscribe to the SFU.');
    }
    const roomId = membership.room.id;
    closeSession(caller.id);
    const result = await service.subscribe(roomId, payload.sdp, 'sfu', {
      stillWanted: () => caller.connected() && registry.membershipOf(caller.id)?.room.id === roomId,
      onClosed: () => {
        if (sessions.get(caller.id)?.roomId === roomId) sessions.delete(caller.id);
      },
    });
    if (!result.ok) return ackError(result.code, result.message);
    const { session, ...answer } = result.value;
    if (!caller.connected() || registry.membershipOf(caller.id)?.room.id !== roomId) {
      session.close();
      return ackError('NOT_IN_ROOM');
    }
    sessions.set(caller.id, session);
    registry.setViewerMode(caller.id, 'sfu', payload.reason);
    caller.log.info({ room: roomId, reason: payload.reason, codec: answer.codec }, 'sfu subscribe');
    return ackOk(answer);
  }

  function unsubscribe(caller: Caller): AckResult<null> {
    const membership = registry.membershipOf(caller.id);
    if (!membership) return ackError('NOT_IN_ROOM');
    closeSession(caller.id);
    if (membership.room.viewers.get(caller.id)?.mode === 'sfu') {
      registry.setViewerMode(caller.id, 'webrtc', null);
    }
    return ackOk(null);
  }

  return {
    events: {
      sfu_publish: {
        schema: SfuPublishSchema,
        rateLimit: 'request',
        route: 'by-membership',
        run: (c, p) => publish(c, p as SfuPublishRequest),
      },
      sfu_unpublish: {
        schema: SfuLeaveSchema,
        rateLimit: 'request',
        route: 'by-membership',
        run: (c) => unpublish(c),
      },
      sfu_subscribe: {
        schema: SfuSubscribeSchema,
        rateLimit: 'request',
        route: 'by-membership',
        run: (c, p) => subscribe(c, p as SfuSubscribeRequest),
      },
      sfu_unsubscribe: {
        schema: SfuLeaveSchema,
        rateLimit: 'request',
        route: 'by-membership',
        run: (c) => unsubscribe(c),
      },
    },
    overflowMode: () => (service.hasCapacity() ? 'sfu' : null),
    viewerLeft: (_roomId, viewerId) => closeSession(viewerId),
    broadcasterChanged: (roomId) => deps.sendDemand(roomId),
    roomClosed: (roomId) => {
      for (const [viewerId, session] of sessions) {
        if (session.roomId === roomId) sessions.delete(viewerId);
      }
      service.closeRoom(roomId);
    },
    audience: (roomId) => ({ whep: service.countOf(roomId, 'whep') }),
  };
}
