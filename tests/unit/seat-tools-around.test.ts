import { describe, expect, it } from 'vitest'
import { coveringCameras, DUP_DISTANCE_M, DUP_WINDOW_H, nearbyCases, type DupSubject, type Feature } from '../../web/services/around.ts'

const H = 3_600_000
const at = Date.parse('2026-11-20T02:00:00Z')

function caseFeature(id: number, lon: number, lat: number, category: string, reportedAt: number, distance: number): Feature {
  return {
    type: 'Feature',
    id,
    geometry: { type: 'Point', coordinates: [lon, lat] },
    properties: {
      code: `C${id}`,
      category_code: category,
      stage: 'reported',
      urgency: 'normal',
      description: `case ${id}`,
      address: null,
      reported_at: new Date(reportedAt).toISOString(),
      grid_code: '310101001001001',
      distance_m: distance,
    },
  }
}

// ~0.001° of longitude at 31° N is ~95 m.
const subject: DupSubject = { id: 1, categoryCode: '0101', reportedAt: new Date(at).toISOString(), lon: 121.47, lat: 31.23 }

describe('nearbyCases', () => {
  const list = [
    caseFeature(1, 121.47, 31.23, '0101', at, 0), // the subject itself
    caseFeature(2, 121.471, 31.23, '0202', at, 95), // other category
    caseFeature(3, 121.4715, 31.23, '0101', at - 10 * H, 143), // duplicate, 143 m
    caseFeature(4, 121.4701, 31.23, '0101', at + 2 * H, 10), // duplicate, nearest
    caseFeature(5, 121.474, 31.23, '0101', at, 380), // same category, too far
    caseFeature(6, 121.4702, 31.23, '0101', at - (DUP_WINDOW_H + 1) * H, 19), // too long ago
    { ...caseFeature(7, 121.4701, 31.23, '0101', at, 10), properties: { ...caseFeature(7, 0, 0, '0101', at, 10).properties, stage: 'merged' } }, // merged already
  ]

  it('leaves the case itself out and flags same-category cases near in place and time, those first', () => {
    const rows = nearbyCases(list, subject)
    expect(rows.map((r) => [r.id, r.duplicate])).toEqual([
      [4, true],
      [3, true],
      [2, false],
      [5, false],
      [6, false],
    ])
    expect(rows[0]!.fromSubjectM).toBeGreaterThan(5)
    expect(rows[0]!.fromSubjectM).toBeLessThan(DUP_DISTANCE_M)
    expect(rows[0]!.distanceM).toBe(10)
  })

  it('flags nothing without a subject case', () => {
    const rows = nearbyCases(list, null)
    expect(rows).toHaveLength(6)
    expect(rows.some((r) => r.duplicate)).toBe(false)
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6])
  })
})

describe('coveringCameras', () => {
  it('keeps the cameras that see the spot, nine at most, and counts the rest', () => {
    const cams: Feature[] = Array.from({ length: 12 }, (_, i) => ({
      type: 'Feature',
      id: i + 1,
      geometry: { type: 'Point', coordinates: [121.47, 31.23] },
      properties: { covers: i !== 2, distance_m: i },
    }))
    const { shown, more } = coveringCameras(cams)
    expect(shown).toHaveLength(9)
    expect(shown.map((c) => c.id)).not.toContain(3)
    expect(more).toBe(2)
  })
})
