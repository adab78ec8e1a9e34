/**
 * The seat's names built from codes (`seat.kind.<card kind>`, `seat.status.<status>`, …) exist in
 * both languages for every code the server can send, and the English table has every seat key
 * the Chinese one has.
 */
import { describe, expect, it } from 'vitest'
import { URGENCIES } from '../../server/cases/types.ts'
import type { CardKind } from '../../server/features/types.ts'
import { catalog } from '../../layers/index.ts'
import { en } from '../../web/i18n/en.ts'
import { zhCN } from '../../web/i18n/zh-CN.ts'

const has = (key: string) => {
  expect((zhCN as Record<string, string>)[key], `zh-CN ${key}`).toBeTruthy()
  expect((en as Record<string, string>)[key], `en ${key}`).toBeTruthy()
}

describe('seat i18n', () => {
  it('names every card kind of the catalog', () => {
    const kinds = new Set<CardKind>()
    for (const l of catalog.values()) if (l.card) kinds.add(l.card)
    expect(kinds.size).toBeGreaterThan(5)
    for (const k of kinds) has(`seat.kind.${k}`)
  })
  it('names the codes the cards show', () => {
    const families: Record<string, readonly string[]> = {
      'seat.urgency': URGENCIES,
      'seat.status': ['online', 'offline', 'alarm', 'fault'],
      'seat.level': ['district', 'street', 'community', 'grid'],
      'seat.partState': ['intact', 'damaged', 'lost', 'occupied'],
      'seat.cameraKind': ['ptz', 'fixed'],
      'seat.dutyStatus': ['on_duty', 'off_duty', 'busy', 'leave'],
      'seat.workerRole': ['grid_leader', 'grid_worker', 'inspector', 'supervisor'],
      'seat.houseUse': ['residential', 'commercial', 'office', 'mixed'],
      'seat.peopleCategory': ['registered', 'floating', 'overseas'],
      'seat.dispatch.from': ['grid', 'neighbours', 'none'],
      'seat.alarmStatus': ['open', 'acked', 'resolved'],
    }
    for (const [prefix, codes] of Object.entries(families)) for (const c of codes) has(`${prefix}.${c}`)
  })
  it('every seat key is in both tables', () => {
    const zh = Object.keys(zhCN).filter((k) => k.startsWith('seat.'))
    expect(zh.length).toBeGreaterThan(100)
    for (const k of zh) expect((en as Record<string, string>)[k], k).toBeTruthy()
  })
})
