import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec'
import { describe, expect, it } from 'vitest'
import { catalog, type ThemeName } from '../../layers/index.ts'
import { buildStyle, THEMES } from '../../styles/build.ts'

describe.each(Object.keys(THEMES) as ThemeName[])('style %s', (name) => {
  const style = buildStyle(name, 'http://127.0.0.1:8080')
  it('passes the MapLibre style-spec validator', () => {
    expect(validateStyleMin(style)).toEqual([])
  })
  it('uses only the project’s own sources, no remote glyphs or sprites', () => {
    for (const src of Object.values(style.sources)) expect((src as { url: string }).url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/tiles\//)
    expect(style.glyphs).toBeUndefined()
    expect(style.sprite).toBeUndefined()
  })
  it('draws every catalog layer with its own id as source-layer', () => {
    expect(JSON.stringify(style)).not.toContain('themePaint')
    for (const def of catalog.values()) {
      const drawn = style.layers.filter((l) => 'source' in l && l.source === def.id)
      expect(drawn.length).toBe(def.style.length)
      for (const l of drawn) expect((l as { 'source-layer': string })['source-layer']).toBe(def.id)
    }
  })
})
