import { en, type MessageKey, type Messages } from './locales/en';
import { zhCN } from './locales/zh-CN';

export type { MessageKey } from './locales/en';

export const LOCALES = ['en', 'zh-CN'] as const;
export type Locale = (typeof LOCALES)[number];
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', 'zh-CN': '简体中文' };

const DICTIONARIES: Record<Locale, Messages> = { en, 'zh-CN': zhCN };
const STORAGE_KEY = 'roomcast:locale';

export type MessageParams = Record<string, string | number>;

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** Any Chinese variant gets Simplified Chinese; everything else falls back to English. */
export function detectLocale(language: string | null | undefined): Locale {
  return language?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export function translate(locale: Locale, key: MessageKey, params?: MessageParams): string {
  const template = DICTIONARIES[locale][key] ?? en[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

type LocaleStorage = Pick<Storage, 'getItem' | 'setItem'>;

function browserStorage(): LocaleStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // storage can throw in sandboxed frames
  }
}

/** The remembered choice wins; otherwise the browser language decides. */
export function initialLocale(storage: LocaleStorage | null, language: string | undefined): Locale {
  let saved: string | null;
  try {
    saved = storage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    saved = null;
  }
  return isLocale(saved) ? saved : detectLocale(language);
}

export class I18n {
  locale = $state<Locale>('en');
  #storage: LocaleStorage | null;

  constructor(storage: LocaleStorage | null, language: string | undefined) {
    this.#storage = storage;
    this.locale = initialLocale(storage, language);
  }

  /** Reads `locale`, so templates that call it re-render on a switch. */
  t = (key: MessageKey, params?: MessageParams): string => translate(this.locale, key, params);

  setLocale(locale: Locale): void {
    this.locale = locale;
    try {
      this.#storage?.setItem(STORAGE_KEY, locale);
    } catch {
      // Not remembered; the switch still applies to this page.
    }
    if (typeof document !== 'undefined') document.documentElement.lang = locale;
  }
}

export const i18n = new I18n(
  browserStorage(),
  typeof navigator === 'undefined' ? undefined : navigator.language,
);

export const t = i18n.t;
