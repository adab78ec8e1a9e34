/**
 * The seat's keyboard shortcuts (web/components/seat/seatShortcuts.ts): the table the key handler
 * and the `?` help both read — each key does one thing, each label is translated, nothing fires
 * while typing but Esc, nothing with Ctrl/⌘/Alt (the browser's own).
 */
import { describe, expect, it } from 'vitest'
import { commandFor, isTyping, SHORTCUTS } from '../../web/components/seat/seatShortcuts.ts'
import { en } from '../../web/i18n/en.ts'
import { zhCN } from '../../web/i18n/zh-CN.ts'

describe('seat shortcuts', () => {
  it('no key is bound twice, no command listed twice', () => {
    const keys = SHORTCUTS.flatMap((s) => s.keys)
    expect(new Set(keys).size).toBe(keys.length)
    const commands = SHORTCUTS.map((s) => s.command)
    expect(new Set(commands).size).toBe(commands.length)
  })
  it('has the frequent actions the issue names', () => {
    const of = (k: string) => commandFor({ key: k }, false)
    expect([of('/'), of('j'), of('k'), of('Enter'), of('a'), of('d'), of('Escape'), of('?')]).toEqual(['search', 'next', 'prev', 'open', 'around', 'dispatch', 'close', 'help'])
  })
  it('every label is translated in both languages', () => {
    for (const s of SHORTCUTS) {
      expect(zhCN[s.label], s.label).toBeTruthy()
      expect(en[s.label], s.label).toBeTruthy()
    }
  })
  it('while typing only Esc counts', () => {
    expect(commandFor({ key: 'j' }, true)).toBeNull()
    expect(commandFor({ key: '/' }, true)).toBeNull()
    expect(commandFor({ key: 'Escape' }, true)).toBe('close')
  })
  it('with Ctrl, ⌘ or Alt nothing counts; an upper-case letter counts as its key', () => {
    expect(commandFor({ key: 'd', ctrlKey: true }, false)).toBeNull()
    expect(commandFor({ key: 'a', metaKey: true }, false)).toBeNull()
    expect(commandFor({ key: 'j', altKey: true }, false)).toBeNull()
    expect(commandFor({ key: 'J' }, false)).toBe('next')
    expect(commandFor({ key: 'x' }, false)).toBeNull()
  })
  it('knows where keys type', () => {
    const el = (tagName: string, isContentEditable = false) => ({ tagName, isContentEditable }) as unknown as EventTarget
    expect(isTyping(el('INPUT'))).toBe(true)
    expect(isTyping(el('TEXTAREA'))).toBe(true)
    expect(isTyping(el('SELECT'))).toBe(true)
    expect(isTyping(el('DIV', true))).toBe(true)
    expect(isTyping(el('BUTTON'))).toBe(false)
    expect(isTyping(null)).toBe(false)
  })
})
