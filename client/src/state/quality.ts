import { QUALITY_PRESETS, QUALITY_PRESET_NAMES, type QualityPreset } from '../../../shared/index';

export { QUALITY_PRESET_NAMES };

export function isQualityPreset(value: string): value is QualityPreset {
  return Object.hasOwn(QUALITY_PRESETS, value);
}
