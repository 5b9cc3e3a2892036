import type { MediaPath } from '../../../shared/index';
import type { MessageKey } from '../lib/i18n.svelte';

/** Display helpers shared by the stats overlay and the viewers panel. `null` means unknown. */
export function formatResolution(width: number, height: number): string | null {
  return width > 0 && height > 0 ? `${width}×${height}` : null;
}

export function roundOrNull(value: number | null | undefined, digits = 0): string | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  return value.toFixed(digits);
}

/** Socket ids are long and random; the first few characters are enough to tell viewers apart. */
export function shortId(id: string): string {
  return id.slice(0, 6);
}

export function pathKey(path: MediaPath): MessageKey {
  return `path.${path}`;
}
