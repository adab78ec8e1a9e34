/**
 * The seat's keyboard shortcuts: one table the key handler (SeatView) and the `?` help overlay
 * (SeatHelp) both read, so the help never lists a key that does something else.
 */
import type { MessageKey } from '../../i18n/zh-CN.ts'

export type SeatCommand =
  | 'search'
  | 'next'
  | 'prev'
  | 'open'
  | 'around'
  | 'dispatch'
  | 'close'
  | 'help'
  | 'draw'
  | 'tracks'
  | 'push'
  | 'style'
  | 'refresh'
  | 'focus'
  | 'legend'

export interface Shortcut {
  /** `KeyboardEvent.key` values (as shown in the help). */
  keys: readonly string[]
  command: SeatCommand
  label: MessageKey
}

export const SHORTCUTS: readonly Shortcut[] = [
  { keys: ['/'], command: 'search', label: 'seat.keys.search' },
  { keys: ['j', 'ArrowDown'], command: 'next', label: 'seat.keys.next' },
  { keys: ['k', 'ArrowUp'], command: 'prev', label: 'seat.keys.prev' },
  { keys: ['Enter'], command: 'open', label: 'seat.keys.open' },
  { keys: ['f'], command: 'focus', label: 'seat.keys.focus' },
  { keys: ['a'], command: 'around', label: 'seat.keys.around' },
  { keys: ['d'], command: 'dispatch', label: 'seat.keys.dispatch' },
  { keys: ['g'], command: 'draw', label: 'seat.keys.draw' },
  { keys: ['t'], command: 'tracks', label: 'seat.keys.tracks' },
  { keys: ['p'], command: 'push', label: 'seat.keys.push' },
  { keys: ['n'], command: 'style', label: 'seat.keys.style' },
  { keys: ['l'], command: 'legend', label: 'seat.keys.legend' },
  { keys: ['r'], command: 'refresh', label: 'seat.keys.refresh' },
  { keys: ['Escape'], command: 'close', label: 'seat.keys.close' },
  { keys: ['?'], command: 'help', label: 'seat.keys.help' },
]

const BY_KEY = new Map<string, SeatCommand>(SHORTCUTS.flatMap((s) => s.keys.map((k) => [k, s.command] as const)))

export interface KeyLike {
  key: string
  ctrlKey?: boolean
  metaKey?: boolean
  altKey?: boolean
}

/**
 * The command of a key press, or null. While typing (an input, a text area, a select has the
 * focus) only Escape counts; with Ctrl, ⌘ or Alt nothing does (the browser's own shortcuts).
 */
export function commandFor(e: KeyLike, typing: boolean): SeatCommand | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null
  if (typing) return e.key === 'Escape' ? 'close' : null
  return BY_KEY.get(e.key) ?? BY_KEY.get(e.key.toLowerCase()) ?? null
}

/** Whether the focus is somewhere keys type into. */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null
  if (!el || typeof el.tagName !== 'string') return false
  const tag = el.tagName.toLowerCase()
  return tag === 'input' || tag === 'textarea' || tag === 'select' || el.isContentEditable === true
}

/** How a key is written in the help. */
export function keyLabel(key: string): string {
  return ({ ArrowDown: '↓', ArrowUp: '↑', Escape: 'Esc', Enter: 'Enter' } as Record<string, string>)[key] ?? key
}
