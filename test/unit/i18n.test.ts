import { describe, expect, it } from 'vitest';
import {
  I18n,
  detectLocale,
  initialLocale,
  isLocale,
  translate,
} from '../../client/src/lib/i18n.svelte';
import { en } from '../../client/src/lib/locales/en';
import { zhCN } from '../../client/src/lib/locales/zh-CN';

class MemoryStorage {
  map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
}

describe('i18n', () => {
  it('has the same keys in every locale, none empty', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
    for (const value of [...Object.values(en), ...Object.values(zhCN)]) {
      expect(value.trim()).not.toBe('');
    }
  });

  it('keeps the same {params} in each translation', () => {
    const params = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const key of Object.keys(en) as Array<keyof typeof en>) {
      expect(params(zhCN[key]), key).toEqual(params(en[key]));
    }
  });

  it('maps any Chinese browser language to zh-CN and the rest to English', () => {
    expect(detectLocale('zh')).toBe('zh-CN');
    expect(detectLocale('zh-TW')).toBe('zh-CN');
    expect(detectLocale('ZH-cn')).toBe('zh-CN');
    expect(detectLocale('en-US')).toBe('en');
    expect(detectLocale('fr')).toBe('en');
    expect(detectLocale(undefined)).toBe('en');
  });

  it('fills parameters and leaves unknown ones visible', () => {
    expect(translate('en', 'watch.title', { room: '123456' })).toBe('Room 123456');
    expect(translate('zh-CN', 'watch.title', { room: '123456' })).toBe('房间 123456');
    expect(translate('en', 'watch.title')).toBe('Room {room}');
  });

  it('prefers the remembered locale over the browser language', () => {
    const storage = new MemoryStorage();
    expect(initialLocale(storage, 'zh-CN')).toBe('zh-CN');
    storage.setItem('roomcast:locale', 'en');
    expect(initialLocale(storage, 'zh-CN')).toBe('en');
    storage.setItem('roomcast:locale', 'klingon');
    expect(initialLocale(storage, 'zh-CN')).toBe('zh-CN');
    expect(isLocale('klingon')).toBe(false);
  });

  it('switches and remembers the locale', () => {
    const storage = new MemoryStorage();
    const i18n = new I18n(storage, 'en-GB');
    expect(i18n.t('home.startBroadcast')).toBe('Start broadcast');
    i18n.setLocale('zh-CN');
    expect(i18n.locale).toBe('zh-CN');
    expect(i18n.t('home.startBroadcast')).toBe('开始直播');
    expect(storage.getItem('roomcast:locale')).toBe('zh-CN');
    expect(new I18n(storage, 'en-GB').locale).toBe('zh-CN');
  });
});
