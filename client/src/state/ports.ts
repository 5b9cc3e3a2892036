/**
 * The narrow views of the client lib that the session classes depend on. Pages pass the real
 * implementations; unit tests pass fakes.
 */
import type { PeerStatsDigest } from '../../../shared/index';
import type { BroadcastMesh, BroadcastMeshOptions } from '../lib/broadcast-mesh';
import type { RelayPlayerOptions } from '../lib/relay-player';
import type { RelayUpstream, RelayUpstreamOptions } from '../lib/relay-upstream';
import type { SignallingClient } from '../lib/signalling-client';
import type { ViewerLink, ViewerLinkOptions } from '../lib/viewer-link';
import type { ClientErrorCode } from '../lib/signalling-client';
import type { MessageKey } from '../lib/i18n.svelte';

export type SignallingPort = Pick<
  SignallingClient,
  | 'clientId'
  | 'connectionState'
  | 'connect'
  | 'request'
  | 'on'
  | 'onStateChange'
  | 'onWelcome'
  | 'sendSignal'
  | 'sendStats'
  | 'sendRelayChunk'
  | 'sendKeyframeRequest'
  | 'close'
>;

export type MeshPort = Pick<
  BroadcastMesh,
  | 'setStream'
  | 'setQuality'
  | 'setCodecOrder'
  | 'addViewer'
  | 'removeViewer'
  | 'handleSignal'
  | 'collectStats'
  | 'close'
>;
export type CreateMesh = (opts: BroadcastMeshOptions) => MeshPort;

export type LinkPort = Pick<
  ViewerLink,
  'handleSignal' | 'collectStats' | 'close' | 'framesDecoded' | 'probeFramesDecoded'
>;
export type CreateLink = (opts: ViewerLinkOptions) => LinkPort;

/** The viewer's relay decoder (lib/relay-player.ts). */
export interface RelayPlayerPort {
  handleChunk(frame: ArrayBuffer | Uint8Array): void;
  collectStats(): PeerStatsDigest;
  readonly framesDecoded: number;
  close(): void;
}
export type CreateRelayPlayer = (opts: RelayPlayerOptions) => RelayPlayerPort;

/** The broadcaster's WebCodecs upstream (lib/relay-upstream.ts). */
export type UpstreamPort = Pick<
  RelayUpstream,
  | 'start'
  | 'setStream'
  | 'setQuality'
  | 'setPreferH264'
  | 'requestKeyframe'
  | 'stop'
  | 'running'
  | 'stats'
>;
export type CreateUpstream = (opts: RelayUpstreamOptions) => UpstreamPort;

export type SessionStoragePort = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** An error to show: a message key plus optional untranslated detail (e.g. a DOMException name). */
export interface UiError {
  key: MessageKey;
  detail?: string;
}

const SERVER_ERROR_KEYS: Record<ClientErrorCode, MessageKey> = {
  INVALID_PAYLOAD: 'error.INVALID_PAYLOAD',
  ROOM_NOT_FOUND: 'error.ROOM_NOT_FOUND',
  ROOM_FULL: 'error.ROOM_FULL',
  NOT_BROADCASTER: 'error.NOT_BROADCASTER',
  NOT_IN_ROOM: 'error.NOT_IN_ROOM',
  ALREADY_IN_ROOM: 'error.ALREADY_IN_ROOM',
  PEER_NOT_FOUND: 'error.PEER_NOT_FOUND',
  RATE_LIMITED: 'error.RATE_LIMITED',
  UNAUTHORIZED: 'error.UNAUTHORIZED',
  SERVER_BUSY: 'error.SERVER_BUSY',
  INTERNAL_ERROR: 'error.INTERNAL_ERROR',
  CODEC_UNSUPPORTED: 'error.CODEC_UNSUPPORTED',
  TIMEOUT: 'error.TIMEOUT',
  DISCONNECTED: 'error.DISCONNECTED',
};

export function errorFromCode(code: ClientErrorCode): UiError {
  return { key: SERVER_ERROR_KEYS[code] ?? 'error.INTERNAL_ERROR' };
}

/** Appends to a bounded list, dropping the oldest entries; returns a new array for `$state.raw`. */
export function pushBounded<T>(list: readonly T[], item: T, max: number): T[] {
  const next = list.length >= max ? list.slice(list.length - max + 1) : list.slice();
  next.push(item);
  return next;
}
