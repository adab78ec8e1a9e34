import { computed, ref, watchEffect, type ComputedRef, type Ref } from 'vue'
import { en } from '../i18n/en.ts'
import { zhCN, type MessageKey, type Messages } from '../i18n/zh-CN.ts'

export type Locale = 'zh-CN' | 'en'

export const LOCALES: readonly Locale[] = ['zh-CN', 'en']
export const DEFAULT_LOCALE: Locale = 'zh-CN'
/** localStorage key remembering the chosen language. */
export const LOCALE_STORAGE_KEY = 'onegrid.locale'

const TABLES: Record<Locale, Messages> = { 'zh-CN': zhCN, en }

function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

function readStoredLocale(): Locale {
  try {
    const stored = globalThis.localStorage?.getItem(LOCALE_STORAGE_KEY)
    return isLocale(stored) ? stored : DEFAULT_LOCALE
  } catch {
    return DEFAULT_LOCALE
  }
}

// One language for the whole app: module-scoped, shared by every caller.
const locale = ref<Locale>(readStoredLocale())

if (typeof document !== 'undefined') {
  watchEffect(() => {
    document.documentElement.lang = locale.value
  })
}

export type MessageParams = Record<string, string | number>

/** Translates `key` in `loc`, filling `{name}` placeholders from `params`. */
export function translate(loc: Locale, key: MessageKey, params?: MessageParams): string {
  const text = TABLES[loc][key] ?? zhCN[key] ?? key
  if (!params) return text
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  )
}

export interface UseI18nReturn {
  /** The current language (shared across the app). */
  locale: Readonly<Ref<Locale>>
  /** All available languages. */
  locales: readonly Locale[]
  /** Translate a message key in the current language. Reactive when used in render/computed. */
  t: (key: MessageKey, params?: MessageParams) => string
  /** Switch language and remember it in localStorage. */
  setLocale: (next: Locale) => void
  /** BCP 47 tag for Intl APIs ('zh-CN' | 'en-GB'). */
  intlLocale: ComputedRef<string>
}

/** Small typed i18n: a message table per language in `web/i18n/`, no extra package. */
export function useI18n(): UseI18nReturn {
  function setLocale(next: Locale): void {
    if (!isLocale(next)) return
    locale.value = next
    try {
      globalThis.localStorage?.setItem(LOCALE_STORAGE_KEY, next)
    } catch {
      // storage may be unavailable (private mode); the choice then lasts for this page only
    }
  }

  return {
    locale,
    locales: LOCALES,
    t: (key, params) => translate(locale.value, key, params),
    setLocale,
    intlLocale: computed(() => (locale.value === 'en' ? 'en-GB' : 'zh-CN')),
  }
}
