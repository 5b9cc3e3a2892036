import type { EgressOutputStatus, EgressStatus } from '../../../shared/index';
import { createLogger } from '../lib/logger';
import type { MessageKey } from '../lib/i18n.svelte';
import type { RequestResult } from '../lib/signalling-client';
import { errorFromCode, type SignallingPort, type UiError } from './ports';

const log = createLogger('egress-session');

/** Seconds left until a failing output retries, counted from when its status arrived. */
export function retryCountdownSeconds(
  receivedAtMs: number,
  retryInMs: number | null,
  nowMs: number,
): number | null {
  if (retryInMs === null) return null;
  return Math.max(0, Math.ceil((receivedAtMs + retryInMs - nowMs) / 1000));
}

/** Why the mirror toggle is locked, or null when the broadcaster may flip it. */
export function hlsToggleLock(status: EgressStatus | null): MessageKey | null {
  if (!status) return 'egress.loading';
  if (!status.capabilities.ffmpeg) return 'egress.unavailable';
  if (status.capabilities.hlsPolicy === 'forced_on') return 'egress.forcedOn';
  if (status.capabilities.hlsPolicy === 'forced_off') return 'egress.forcedOff';
  return null;
}

/** A restream target's status by name (a target that was never started reads as off). */
export function restreamStatus(
  status: EgressStatus | null,
  target: string,
): (EgressOutputStatus & { on: boolean }) | null {
  return status?.restreams.find((r) => r.name === target) ?? null;
}

export interface EgressSessionDeps {
  signalling: SignallingPort;
  /** The broadcaster's current room: statuses for any other room are stale. */
  roomId: () => string | null;
  now?: () => number;
}

/**
 * The broadcast page's egress panel state: the public HLS mirror, restream targets and the
 * recording indicator. The server pushes `egress_status` after create/reclaim and on every change.
 */
export class EgressSession {
  #status = $state.raw<EgressStatus | null>(null);
  /** When the latest status arrived (for the "retrying in N s" countdowns). */
  receivedAt = $state(0);
  /** Ticks once a second while something is retrying. */
  now = $state(0);
  selectedTarget = $state('');
  busy = $state(false);
  error = $state<UiError | null>(null);

  readonly #signalling: SignallingPort;
  readonly #roomId: () => string | null;
  readonly #now: () => number;
  #off: (() => void) | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;

  /** The latest status for the room we are live in. */
  status = $derived.by(() => {
    const status = this.#status;
    return status && status.roomId === this.#roomId() ? status : null;
  });
  hlsLock = $derived(hlsToggleLock(this.status));
  targets = $derived(this.status?.capabilities.restreamTargets ?? []);
  selectedRestream = $derived(restreamStatus(this.status, this.selectedTarget));

  constructor(deps: EgressSessionDeps) {
    this.#signalling = deps.signalling;
    this.#roomId = deps.roomId;
    this.#now = deps.now ?? (() => Date.now());
  }

  start(): () => void {
    this.#off = this.#signalling.on('egress_status', (status) => this.handleStatus(status));
    return () => this.destroy();
  }

  destroy(): void {
    this.#off?.();
    this.#off = null;
    this.#stopTicker();
  }

  handleStatus(status: EgressStatus): void {
    this.#status = status;
    this.receivedAt = this.#now();
    this.now = this.receivedAt;
    const targets = status.capabilities.restreamTargets;
    if (!targets.includes(this.selectedTarget)) this.selectedTarget = targets[0] ?? '';
    const retrying = status.restreams.some((r) => r.retryInMs !== null);
    if (retrying) this.#startTicker();
    else this.#stopTicker();
  }

  /** Seconds until `output` retries, or null. */
  retryIn(output: EgressOutputStatus | null): number | null {
    if (!output || output.state !== 'retrying') return null;
    return retryCountdownSeconds(this.receivedAt, output.retryInMs, this.now);
  }

  async setHls(on: boolean): Promise<void> {
    if (this.hlsLock) return;
    await this.#send(() => this.#signalling.request('egress_set', { hls: on }));
  }

  async setRestream(target: string, on: boolean): Promise<void> {
    if (!target || !this.targets.includes(target)) return;
    await this.#send(() => this.#signalling.request('restream_set', { target, on }));
  }

  async #send(request: () => Promise<RequestResult<EgressStatus>>): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      const result = await request();
      if (result.ok) {
        this.handleStatus(result.data);
      } else {
        log.warn('egress request refused', result.error.code);
        // The server's message says why (e.g. ffmpeg missing); the code alone is too vague here.
        const local = result.error.code === 'TIMEOUT' || result.error.code === 'DISCONNECTED';
        this.error =
          !local && result.error.message
            ? { key: 'egress.refused', detail: result.error.message }
            : errorFromCode(result.error.code);
      }
    } finally {
      this.busy = false;
    }
  }

  #startTicker(): void {
    if (this.#ticker) return;
    this.#ticker = setInterval(() => {
      this.now = this.#now();
    }, 1000);
  }

  #stopTicker(): void {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = null;
  }
}
