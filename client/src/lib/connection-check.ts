import type { MessageKey, MessageParams } from './i18n.svelte';
import type { SignallingClient } from './signalling-client';

/**
 * The /check self-test: which media paths work from this browser. It gathers ICE candidates
 * against the configured STUN and TURN servers (UDP, TCP, TLS), pushes a data-channel message
 * through TURN between two local peer connections, and checks that the WebSocket relay is
 * switched on (GET /healthz `features.relay`) and its socket (the signalling socket) is connected. TURN credentials are only issued to room members, so it
 * opens a private check room and leaves it at once; the credentials stay valid for their TTL.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';
export type CheckName =
  'signalling' | 'host' | 'stun' | 'turn-udp' | 'turn-tcp' | 'turn-tls' | 'loopback' | 'relay';
export type TurnTransport = 'udp' | 'tcp' | 'tls';

export interface CheckMessage {
  key: MessageKey;
  params?: MessageParams;
}

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  message: CheckMessage;
}

export type CheckSummaryKey =
  | 'check.summary.good'
  | 'check.summary.turnOnly'
  | 'check.summary.directOnly'
  | 'check.summary.relayOnly'
  | 'check.summary.lanOnly'
  | 'check.summary.bad';

export interface CandidateInfo {
  type: string | null;
  protocol: string | null;
  relayProtocol: string | null;
}

export interface TurnServer {
  url: string;
  transport: TurnTransport;
  username?: string;
  credential?: string;
}

export type CheckSignalling = Pick<SignallingClient, 'connect' | 'request' | 'connectionState'>;

export interface ConnectionCheckDeps {
  signalling: CheckSignalling;
  /** e.g. "websocket"; shown in the relay and server results. */
  transportName?: () => string;
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  gatherTimeoutMs?: number;
  loopbackTimeoutMs?: number;
  onResult?: (result: CheckResult) => void;
  /** GET /healthz, parsed as JSON (tests pass a fake). */
  fetchHealth?: () => Promise<unknown>;
}

/** What /healthz says about the server relay; null when it could not be read. */
export type RelayFeature = { enabled: boolean; reason: string | null } | null;

async function defaultFetchHealth(): Promise<unknown> {
  const res = await fetch('/healthz', { cache: 'no-store' });
  if (!res.ok) throw new Error(`healthz ${res.status}`);
  return res.json();
}

/** Reads `features.relay` out of a /healthz body; null when it is not there. */
export function relayFeatureOf(health: unknown): RelayFeature {
  const relay = (health as { features?: { relay?: unknown } } | null)?.features?.relay as
    { enabled?: unknown; reason?: unknown } | undefined;
  if (!relay || typeof relay.enabled !== 'boolean') return null;
  return {
    enabled: relay.enabled,
    reason: typeof relay.reason === 'string' ? relay.reason : null,
  };
}

/** GET /healthz → its relay feature; null when the request or its body fails. */
export async function fetchRelayFeature(
  fetchHealth: () => Promise<unknown> = defaultFetchHealth,
): Promise<RelayFeature> {
  try {
    return relayFeatureOf(await fetchHealth());
  } catch {
    return null;
  }
}

/**
 * The "Server relay" result: it works only when the server has it switched on AND the socket
 * it rides on is connected. Switched off → fail with the server's reason; status unreadable → warn.
 */
export function relayCheckResult(
  connected: boolean,
  feature: RelayFeature,
  transport: string,
): CheckResult {
  if (feature && !feature.enabled) {
    return {
      name: 'relay',
      status: 'fail',
      message: {
        key: 'check.relay.disabled',
        params: { reason: feature.reason ?? 'switched off' },
      },
    };
  }
  if (!connected) return { name: 'relay', status: 'fail', message: { key: 'check.relay.fail' } };
  if (!feature) return { name: 'relay', status: 'warn', message: { key: 'check.relay.unknown' } };
  return { name: 'relay', status: 'ok', message: { key: 'check.relay.ok', params: { transport } } };
}

export const TURN_TRANSPORTS: readonly TurnTransport[] = ['udp', 'tcp', 'tls'];
const TURN_CHECK: Record<TurnTransport, CheckName> = {
  udp: 'turn-udp',
  tcp: 'turn-tcp',
  tls: 'turn-tls',
};

/** turn:h:p → udp, turn:h:p?transport=tcp → tcp, turns:h:p → tls; anything else → null. */
export function turnTransportOf(url: string): TurnTransport | null {
  const lower = url.trim().toLowerCase();
  if (lower.startsWith('turns:')) return 'tls';
  if (!lower.startsWith('turn:')) return null;
  return /[?&]transport=tcp\b/.test(lower) ? 'tcp' : 'udp';
}

/** Splits the room's ICE servers into STUN URLs and single-URL TURN servers by transport. */
export function splitIceServers(servers: readonly RTCIceServer[]): {
  stun: string[];
  turn: TurnServer[];
} {
  const stun: string[] = [];
  const turn: TurnServer[] = [];
  for (const server of servers) {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    for (const url of urls) {
      if (/^stuns?:/i.test(url)) {
        stun.push(url);
        continue;
      }
      const transport = turnTransportOf(url);
      if (!transport) continue;
      turn.push({
        url,
        transport,
        ...(server.username !== undefined ? { username: server.username } : {}),
        ...(typeof server.credential === 'string' ? { credential: server.credential } : {}),
      });
    }
  }
  return { stun, turn };
}

export function summarizeChecks(results: readonly CheckResult[]): CheckSummaryKey {
  const status = (name: CheckName) => results.find((r) => r.name === name)?.status;
  if (status('signalling') !== 'ok') return 'check.summary.bad';
  const turnWorks = status('loopback') === 'ok';
  const directWorks = status('stun') === 'ok';
  if (turnWorks && directWorks) return 'check.summary.good';
  if (turnWorks) return 'check.summary.turnOnly';
  if (directWorks) return 'check.summary.directOnly';
  // With no STUN or TURN configured nothing beyond this machine can be tested: don't call WebRTC blocked.
  const untested = (name: CheckName, key: string) =>
    results.find((r) => r.name === name)?.message.key === key;
  if (
    status('host') === 'ok' &&
    untested('stun', 'check.stun.none') &&
    untested('loopback', 'check.loopback.notConfigured') &&
    status('relay') !== 'fail'
  ) {
    return 'check.summary.lanOnly';
  }
  // Neither WebRTC path works: only the relay is left, unless it failed too.
  if (status('relay') === 'fail') return 'check.summary.bad';
  return 'check.summary.relayOnly';
}

function defaultCreatePc(config: RTCConfiguration): RTCPeerConnection {
  return new RTCPeerConnection(config);
}

function candidateInfo(candidate: RTCIceCandidate): CandidateInfo {
  const relayProtocol = (candidate as RTCIceCandidate & { relayProtocol?: string | null })
    .relayProtocol;
  return {
    type: candidate.type ?? null,
    protocol: candidate.protocol ?? null,
    relayProtocol: relayProtocol ?? null,
  };
}

/**
 * Gathers local candidates for `config` until gathering completes, `until` matches a
 * candidate, or the timeout passes. Always closes its peer connection.
 */
export async function gatherCandidates(
  config: RTCConfiguration,
  timeoutMs: number,
  createPc: (config: RTCConfiguration) => RTCPeerConnection = defaultCreatePc,
  until?: (candidate: CandidateInfo) => boolean,
): Promise<{ candidates: CandidateInfo[]; timedOut: boolean }> {
  const pc = createPc(config);
  const candidates: CandidateInfo[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const finished = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate || !candidate.candidate) {
          resolve(false);
          return;
        }
        const info = candidateInfo(candidate);
        if (candidates.length < 64) candidates.push(info);
        if (until?.(info)) resolve(false);
      };
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === 'complete') resolve(false);
      };
    });
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    const timedOut = await finished;
    return { candidates, timedOut };
  } finally {
    clearTimeout(timer);
    pc.onicecandidate = null;
    pc.onicegatheringstatechange = null;
    pc.close();
  }
}

/**
 * Two peer connections in this page, both restricted to relay candidates, exchange one
 * data-channel message and its echo through TURN. Resolves with the round trip in ms, or null.
 */
export async function turnLoopback(
  iceServers: RTCIceServer[],
  timeoutMs: number,
  createPc: (config: RTCConfiguration) => RTCPeerConnection = defaultCreatePc,
): Promise<number | null> {
  const config: RTCConfiguration = { iceServers, iceTransportPolicy: 'relay' };
  const a = createPc(config);
  const b = createPc(config);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    a.onicecandidate = ({ candidate }) => {
      if (candidate) void b.addIceCandidate(candidate).catch(() => {});
    };
    b.onicecandidate = ({ candidate }) => {
      if (candidate) void a.addIceCandidate(candidate).catch(() => {});
    };
    b.ondatachannel = ({ channel }) => {
      channel.onmessage = ({ data }) => channel.send(data as string);
    };
    const channel = a.createDataChannel('check');
    const roundTrip = new Promise<number | null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
      let sentAt = 0;
      channel.onopen = () => {
        sentAt = performance.now();
        channel.send('ping');
      };
      channel.onmessage = ({ data }) => {
        if (data === 'ping') resolve(performance.now() - sentAt);
      };
    });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    return await roundTrip;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    a.close();
    b.close();
  }
}

/** Runs every check in order, reporting each result as soon as it is known. */
export async function runConnectionCheck(deps: ConnectionCheckDeps): Promise<CheckResult[]> {
  const createPc = deps.createPeerConnection ?? defaultCreatePc;
  const gatherMs = deps.gatherTimeoutMs ?? 6000;
  const loopbackMs = deps.loopbackTimeoutMs ?? 10_000;
  const seconds = (ms: number) => Math.round(ms / 1000);
  const results: CheckResult[] = [];
  const report = (result: CheckResult) => {
    results.push(result);
    deps.onResult?.(result);
  };
  const transport = () => deps.transportName?.() ?? 'websocket';

  // 1. The server connection (and with it the WebSocket relay).
  let connected = false;
  try {
    await deps.signalling.connect();
    connected = deps.signalling.connectionState === 'connected';
  } catch {
    // unreachable: reported below
  }
  report(
    connected
      ? {
          name: 'signalling',
          status: 'ok',
          message: { key: 'check.signalling.ok', params: { transport: transport() } },
        }
      : { name: 'signalling', status: 'fail', message: { key: 'check.signalling.fail' } },
  );

  // 2. A private check room, only for its TURN credentials.
  let iceServers: RTCIceServer[] = [];
  let roomError: string | null = null;
  if (connected) {
    const created = await deps.signalling.request('create_room', {
      listed: false,
      title: 'connection check',
    });
    if (created.ok) {
      iceServers = created.data.iceServers;
      await deps.signalling.request('leave_room', {});
    } else {
      roomError = created.error.code;
    }
  }
  const { stun, turn } = splitIceServers(iceServers);

  // 3. Local (host) candidates, no server involved.
  const local = await gatherCandidates({ iceServers: [] }, gatherMs, createPc);
  const hostCount = local.candidates.filter((c) => c.type === 'host').length;
  report(
    hostCount > 0
      ? {
          name: 'host',
          status: 'ok',
          message: { key: 'check.host.ok', params: { count: hostCount } },
        }
      : { name: 'host', status: 'fail', message: { key: 'check.host.fail' } },
  );

  // 4. STUN: a server-reflexive candidate from any configured server.
  if (stun.length === 0) {
    report({
      name: 'stun',
      status: 'warn',
      message: roomError
        ? { key: 'check.room.fail', params: { detail: roomError } }
        : { key: 'check.stun.none' },
    });
  } else {
    let working: string | null = null;
    for (const url of stun) {
      const gathered = await gatherCandidates(
        { iceServers: [{ urls: url }] },
        gatherMs,
        createPc,
        (c) => c.type === 'srflx',
      );
      if (gathered.candidates.some((c) => c.type === 'srflx')) {
        working = url;
        break;
      }
    }
    report(
      working
        ? {
            name: 'stun',
            status: 'ok',
            message: { key: 'check.stun.ok', params: { url: working } },
          }
        : {
            name: 'stun',
            status: 'warn',
            message: { key: 'check.stun.warn', params: { url: stun[0]! } },
          },
    );
  }

  // 5. TURN, one check per transport: a relay candidate means allocation worked.
  const workingTurn: TurnServer[] = [];
  for (const transport of TURN_TRANSPORTS) {
    const name = TURN_CHECK[transport];
    const servers = turn.filter((s) => s.transport === transport);
    if (servers.length === 0) {
      report({
        name,
        status: 'warn',
        message: roomError
          ? { key: 'check.room.fail', params: { detail: roomError } }
          : { key: 'check.turn.none' },
      });
      continue;
    }
    let ok: TurnServer | null = null;
    for (const server of servers) {
      const gathered = await gatherCandidates(
        {
          iceServers: [
            { urls: server.url, username: server.username, credential: server.credential },
          ],
          iceTransportPolicy: 'relay',
        },
        gatherMs,
        createPc,
        (c) => c.type === 'relay',
      );
      if (gathered.candidates.some((c) => c.type === 'relay')) {
        ok = server;
        break;
      }
    }
    if (ok) workingTurn.push(ok);
    report(
      ok
        ? { name, status: 'ok', message: { key: 'check.turn.ok', params: { url: ok.url } } }
        : {
            name,
            status: 'fail',
            message: {
              key: 'check.turn.fail',
              params: { url: servers[0]!.url, seconds: seconds(gatherMs) },
            },
          },
    );
  }

  // 6. Media through TURN: a loopback round trip between two relay-only peer connections.
  if (turn.length === 0) {
    report({ name: 'loopback', status: 'warn', message: { key: 'check.loopback.notConfigured' } });
  } else if (workingTurn.length === 0) {
    report({ name: 'loopback', status: 'fail', message: { key: 'check.loopback.skip' } });
  } else {
    const servers = workingTurn.map((s) => ({
      urls: s.url,
      username: s.username,
      credential: s.credential,
    }));
    const ms = await turnLoopback(servers, loopbackMs, createPc);
    report(
      ms !== null
        ? {
            name: 'loopback',
            status: 'ok',
            message: { key: 'check.loopback.ok', params: { ms: Math.max(1, Math.round(ms)) } },
          }
        : {
            name: 'loopback',
            status: 'fail',
            message: { key: 'check.loopback.fail', params: { seconds: seconds(loopbackMs) } },
          },
    );
  }

  // 7. The WebSocket relay: switched on by the server (/healthz) and riding on a live socket.
  const feature = await fetchRelayFeature(deps.fetchHealth);
  const relayUp = connected && deps.signalling.connectionState === 'connected';
  report(relayCheckResult(relayUp, feature, transport()));
  return results;
}
