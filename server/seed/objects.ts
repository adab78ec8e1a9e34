/**
 * Seeds the demo city's objects on the geography that is already there (grids, and roads,
 * water and buildings when present): reference tables from seed/data, party branches, grid
 * teams, parts along the roads and from real OSM POIs, sensors with 14 days of hourly
 * readings, cameras at intersections and along major roads, houses and people in buildings,
 * organizations and key places, 90 days of cases with every workflow step, and the last three
 * days of worker tracks. Finally every located object gets the grid that contains it, by
 * spatial join (objects.sql grid_*); rows are already inserted with the grid the generator
 * located them in by the same rule, so that pass only writes where they differ.
 *
 * Objects need a grid: parts, sensors and cameras outside every grid are not kept (a part code
 * needs its district), except the real national air stations. Without roads the grid edges
 * stand for the streets; without buildings there are no houses and no people.
 *
 * Deterministic: every choice comes from faker seeded with opts.seed (re-seeded per step with
 * [seed, step], so one step's changes do not shift the others), SQL only places and stores
 * (ORDER BY everywhere, no random() or now()), and rows are inserted in a fixed order so serial
 * ids repeat. Same seed + anchor + geography on the same backend → identical rows.
 */
import fs from 'node:fs'
import { parse } from 'csv-parse/sync'
import { Faker, base, en, zh_CN } from '@faker-js/faker'
import type { Db, Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import { zoneClock, type ZoneClock as Clock } from '../time/zone.ts'
import { Rng } from '../random.ts'
import { WorkCalendar } from '../cases/calendar.ts'
import { stageDeadline } from '../cases/deadlines.ts'
import { ACTION_DEFS, nextStage, type Action, type Stage } from '../cases/workflow.ts'

export interface SeedOptions {
  seed: number
  /** "Today" at 00:00 in tz: every history ends here. */
  anchor: Date
  tz: string
  log?: (msg: string) => void
}

const sql = loadSql(new URL('./objects.sql', import.meta.url))
const dataDir = new URL('./data/', import.meta.url)
const realdata = new URL('./realdata/', import.meta.url)

/** Lengths of the generated histories, and the sizes the generator aims at. */
const HISTORY_DAYS = 90
const READING_HOURS = 14 * 24
const TRACK_DAYS = 3
const FIX_SECONDS = 120
const PARTS_MIN = 3300
const PARTS_MAX = 20000
const SENSORS_MIN = 1100
const CAMERAS_MIN = 330
const HOUSES_TARGET = 7000
const PEOPLE_TARGET = 13000

const HOUR = 3_600_000
const MINUTE = 60_000
const DAY = 24 * HOUR

// ─── small helpers ──────────────────────────────────────────────────────────────────────────

interface Pt {
  x: number
  y: number
}

const r7 = (v: number) => Math.round(v * 1e7) / 1e7
const r6 = (v: number) => Math.round(v * 1e6) / 1e6
const pad = (n: number, w: number) => String(n).padStart(w, '0')
const iso = (ms: number) => new Date(ms).toISOString()

/** A point moved `m` metres on a bearing (degrees clockwise from north); fine at city scale. */
function move(p: Pt, bearing: number, m: number): Pt {
  const b = (bearing * Math.PI) / 180
  return { x: r7(p.x + (m * Math.sin(b)) / (111_320 * Math.cos((p.y * Math.PI) / 180))), y: r7(p.y + (m * Math.cos(b)) / 110_900) }
}

function readCsv(url: URL): Record<string, string>[] {
  return parse(fs.readFileSync(url), { columns: true, skip_empty_lines: true, trim: true, comment: '#', comment_no_infix: true }) as Record<string, string>[]
}
const dataCsv = (name: string) => readCsv(new URL(name, dataDir))
const dataJson = <T>(name: string) => JSON.parse(fs.readFileSync(new URL(name, dataDir), 'utf8')) as T

/** Random choices, all drawn from the seeded faker. */
/** The seed's draws: the shared ones, plus Chinese names and phone numbers. */
class SeedRng extends Rng {
  constructor(override readonly f: Faker) {
    super(f)
  }
  name(sex?: 'male' | 'female'): string {
    return this.f.person.lastName() + this.f.person.firstName(sex)
  }
  mobile(): string {
    return this.pick(MOBILE_PREFIXES) + pad(this.int(0, 99_999_999), 8)
  }
  landline(): string {
    return `021-${this.pick(['5', '6'])}${pad(this.int(0, 9_999_999), 7)}`
  }
}

const MOBILE_PREFIXES = ['130', '131', '132', '133', '135', '136', '137', '138', '139', '150', '151', '152', '153', '155', '156', '157', '158', '159', '166', '173', '176', '177', '180', '181', '182', '183', '185', '186', '187', '188', '189', '191', '198', '199']

// ID numbers (GB 11643): 17 digits + ISO 7064 MOD 11-2 check character.
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
export function idCheckChar(body17: string): string {
  let s = 0
  for (let i = 0; i < 17; i++) s += +body17[i] * ID_WEIGHTS[i]
  return '10X98765432'[s % 11]
}

// ─── row shapes ─────────────────────────────────────────────────────────────────────────────

interface Grid {
  code: string
  name: string
  community_code: string
  street_code: string
  district_code: string
  area_m2: number
  x: number
  y: number
  community_name: string
  street_name: string
  district_name: string
}
interface Street {
  code: string
  name: string
  district_code: string
}
interface Dept {
  id: number
  code: string
  name: string
}
interface Worker {
  n: number
  code: string
  name: string
  phone: string
  role: 'grid_leader' | 'grid_worker' | 'inspector' | 'supervisor'
  grid_code: string | null
  street_code: string
  department_id: number
  duty_status: string
  /** The grids this worker patrols (home grid first). */
  patrol: string[]
  id?: number
}
interface Team {
  leader: Worker
  workers: Worker[]
  supervisor: Worker
}
interface LinePoint extends Pt {
  plan: number
  line_id: number
  i: number
  az: number
  name: string | null
  kind: string
}
interface Located {
  grid: string
  district: string
}
interface Part extends Pt {
  id?: number
  code: string
  class_code: string
  name: string
  grid: string
  road: string | null
  maintainer_dept_id: number
}
interface Building extends Pt {
  id: number
  kind: string | null
  use: string | null
  name: string | null
  address: string | null
  height_m: number
  levels: number
  area_m2: number
  grid_code: string | null
}
interface Poi extends Pt {
  id: number
  kind: string
  name: string | null
  name_en: string | null
}
interface Sensor extends Pt {
  id?: number
  code: string
  type: string
  name: string
  grid: string | null
  status: string
  part?: Part
  alarmAt?: number
  last_value?: number
  unit: string
}
interface Camera extends Pt {
  code: string
  name: string
  /** Where it stands, for addresses: an intersection or a pole on a road. */
  place: string
  heading: number
  range: number
  grid: string
  status: string
}
interface Category {
  code: string
  kind: 'event' | 'part'
  major_code: string
  major_name: string
  minor_name: string
  limits: { accept: number; verify: number; dispatch: number; handle: number; check: number }
  dept: string
  weight: number
  sensor_type: string
  video: boolean
}
interface SensorType {
  prefix: string
  name: string
  unit: string
  warn: number
  alarm: number
  decimals: number
  base: [number, number]
  daily: number
}

// ─── the seeder ─────────────────────────────────────────────────────────────────────────────

class Seeder {
  readonly faker = new Faker({ locale: [zh_CN, en, base] })
  readonly fakerEn = new Faker({ locale: [en, base] })
  readonly rng = new SeedRng(this.faker)
  readonly clock: Clock
  readonly cal: WorkCalendar
  readonly anchor: number
  readonly log: (msg: string) => void

  grids: Grid[] = []
  gridBy = new Map<string, Grid>()
  streets: Street[] = []
  depts = new Map<string, Dept>()
  deptById = new Map<number, Dept>()
  workers: Worker[] = []
  teams = new Map<string, Team>()
  linesFromRoads = false
  parts: Part[] = []
  buildings: Building[] = []
  pois: Poi[] = []
  constructionSites: (Pt & { grid: string | null })[] = []
  hazardSites: (Pt & { grid: string | null })[] = []
  sensors: Sensor[] = []
  sensorTypes: Record<string, SensorType> = {}
  cameras: Camera[] = []
  categories: Category[] = []
  counts: Record<string, number> = {}

  constructor(
    readonly tx: Queryable,
    readonly opts: SeedOptions,
  ) {
    this.clock = zoneClock(opts.tz)
    this.cal = new WorkCalendar(this.clock, dataJson('work_calendar.json'))
    this.anchor = opts.anchor.getTime()
    this.log = opts.log ?? (() => {})
  }

  /** Re-seeds faker for step n, so each step's draws depend only on the seed and the step. */
  step(n: number): void {
    this.faker.seed([this.opts.seed, n])
    this.fakerEn.seed([this.opts.seed, n, 1])
  }

  async q<T>(name: string, params: unknown[] = []): Promise<T[]> {
    const text = sql[name]
    if (!text) throw new Error(`objects.sql has no statement ${name}`)
    return (await this.tx.query<T>(text, params)).rows
  }

  async insert(name: string, rows: object[], batch = 4000): Promise<void> {
    for (let i = 0; i < rows.length; i += batch) await this.q(name, [JSON.stringify(rows.slice(i, i + batch))])
  }

  /** The grid (and district) of each point, or null outside every grid. */
  async locate(points: Pt[]): Promise<(Located | null)[]> {
    const out: (Located | null)[] = points.map(() => null)
    for (let s = 0; s < points.length; s += 5000) {
      const chunk = points.slice(s, s + 5000).map((p, k) => ({ i: s + k, x: p.x, y: p.y }))
      const rows = await this.q<{ i: number; grid_code: string; district_code: string }>('locate_points', [JSON.stringify(chunk)])
      for (const r of rows) out[r.i] = { grid: r.grid_code, district: r.district_code }
    }
    return out
  }

  /** count random points inside each requested grid (repeatable: the seed comes from faker). */
  async pointsIn(requests: { grid: string; count: number }[]): Promise<Pt[][]> {
    const out: Pt[][] = requests.map(() => [])
    const rows = await this.q<{ i: number; x: number; y: number }>('points_in_grids', [
      JSON.stringify(requests.filter((r) => r.count > 0).map((r) => ({ i: requests.indexOf(r), grid: r.grid, count: r.count, seed: this.rng.int(1, 2_000_000_000) }))),
    ])
    for (const r of rows) out[r.i].push({ x: r7(r.x), y: r7(r.y) })
    return out
  }

  linePoints(plans: { n: number; kinds: string; spacing: number; phase: number }[]): Promise<LinePoint[]> {
    return this.q<LinePoint>('line_points', [JSON.stringify(plans)])
  }

  dept(code: string): Dept {
    const d = this.depts.get(code)
    if (!d) throw new Error(`department ${code} is not in data/departments.csv`)
    return d
  }
  streetOffice(streetCode: string): Dept {
    return this.dept(`JD${streetCode}`)
  }
  date(ms: number): string {
    return this.clock.ymd(ms, '-')
  }
  /** A date between `fromYear`-01-01 and `daysBefore` days before the anchor. */
  pastDate(fromYear: number, daysBefore: number): number {
    const a = Date.UTC(fromYear, 0, 1)
    return a + this.rng.u() * Math.max(0, this.anchor - daysBefore * DAY - a)
  }

  // ── 1. reference data ──
  async reference(): Promise<void> {
    this.step(1)
    this.streets = await this.q<Street>('streets')
    const depts = dataCsv('departments.csv').map((d) => ({ code: d.code, name: d.name, kind: d.kind, phone: d.phone || null }))
    for (const s of this.streets) depts.push({ code: `JD${s.code}`, name: `${s.name}办事处`, kind: 'street_office', phone: this.rng.landline() })
    await this.insert('insert_departments', depts.map((d, n) => ({ n, ...d })))
    for (const d of await this.q<Dept>('dept_ids')) {
      this.depts.set(d.code, d)
      this.deptById.set(d.id, d)
    }
    const classes = dataCsv('part_classes.csv')
    // Every owner and maintainer named in the data must be a department (throws otherwise).
    for (const c of classes) for (const code of [c.owner, c.maintainer]) this.dept(code)
    await this.insert('insert_part_classes', classes.map((c, n) => ({ n, code: c.code, major_code: c.major_code, major_name: c.major_name, minor_name: c.minor_name })))
    this.categories = dataCsv('case_categories.csv').map((c) => ({
      code: c.code,
      kind: c.kind as 'event' | 'part',
      major_code: c.major_code,
      major_name: c.major_name,
      minor_name: c.minor_name,
      limits: { accept: +c.accept, verify: +c.verify, dispatch: +c.dispatch, handle: +c.handle, check: +c.check },
      dept: c.dept,
      weight: +c.weight,
      sensor_type: c.sensor_type,
      video: c.video === 'y',
    }))
    for (const c of this.categories) if (c.dept !== 'street' && c.dept !== 'part') this.dept(c.dept)
    await this.insert('insert_case_categories', this.categories.map((c, n) => ({ n, code: c.code, kind: c.kind, major_code: c.major_code, major_name: c.major_name, minor_name: c.minor_name, limits_hours: c.limits, dept: c.dept })))
    this.sensorTypes = dataJson<Record<string, SensorType>>('sensor_types.json')
    delete (this.sensorTypes as Record<string, unknown>)._comment
    this.counts.departments = depts.length
    this.counts.part_classes = classes.length
    this.counts.case_categories = this.categories.length
  }

  // ── 2. party branches, workers and grid teams ──
  async teamsStep(): Promise<void> {
    this.step(2)
    this.grids = await this.q<Grid>('grid_info')
    if (this.grids.length === 0) throw new Error('seedObjects needs the geography first: there are no grids')
    for (const g of this.grids) this.gridBy.set(g.code, g)
    const communities = [...new Map(this.grids.map((g) => [g.community_code, g])).values()]
    const branches = communities.map((g, n) => ({
      n,
      name: `${g.community_name.replace(/(居委会|社区)$/, '')}居民区党总支`,
      secretary: this.rng.name(),
      community_code: g.community_code,
    }))
    await this.insert('insert_party_branches', branches)
    await this.q('link_party_branches')
    this.counts.party_branches = branches.length

    const center = this.dept('CYZX').id
    const enforcement = this.dept('CGZF').id
    let n = 0
    for (const s of this.streets) {
      const sg = this.grids.filter((g) => g.street_code === s.code)
      let seq = 0
      const make = (role: Worker['role'], grid: string | null, department_id: number, patrol: string[], female = 0.55): Worker => {
        const w: Worker = {
          n: n++,
          code: `W${s.code}${pad(++seq, 3)}`,
          name: this.rng.name(this.rng.chance(female) ? 'female' : 'male'),
          phone: this.rng.mobile(),
          role,
          grid_code: grid,
          street_code: s.code,
          department_id,
          duty_status: 'off_duty',
          patrol,
        }
        this.workers.push(w)
        return w
      }
      const office = this.streetOffice(s.code).id
      const partial = new Map<string, { leader: Worker; workers: Worker[] }>()
      for (const g of sg) {
        const leader = make('grid_leader', g.code, office, [g.code], 0.45)
        const workers = [make('grid_worker', g.code, office, [g.code], 0.6)]
        if (this.rng.chance(0.55)) workers.push(make('grid_worker', g.code, office, [g.code], 0.6))
        partial.set(g.code, { leader, workers })
      }
      // One supervisor (监督员, of the city operations centre) per 2–3 neighbouring grids.
      for (let i = 0; i < sg.length; ) {
        const left = sg.length - i
        const size = left <= 3 ? left : left === 4 ? 2 : this.rng.chance(0.5) ? 2 : 3
        const chunk = sg.slice(i, i + size).map((g) => g.code)
        const sup = make('supervisor', chunk[0], center, chunk, 0.4)
        for (const code of chunk) this.teams.set(code, { ...partial.get(code)!, supervisor: sup })
        i += size
      }
      // Inspectors (巡查员, law enforcement) cover the whole street, by e-bike.
      const inspectors = 2 + (sg.length > 15 ? 2 : sg.length > 6 ? 1 : 0)
      for (let k = 0; k < inspectors; k++) make('inspector', null, enforcement, sg.map((g) => g.code), 0.3)
    }
    await this.insert('insert_workers', this.workers)
    const ids = new Map((await this.q<{ id: number; code: string }>('worker_ids')).map((r) => [r.code, r.id]))
    for (const w of this.workers) w.id = ids.get(w.code)
    const team: { n: number; grid_code: string; worker_code: string; role: string }[] = []
    for (const [grid, t] of this.teams) {
      team.push({ n: team.length, grid_code: grid, worker_code: t.leader.code, role: 'grid_leader' })
      for (const w of t.workers) team.push({ n: team.length, grid_code: grid, worker_code: w.code, role: 'grid_worker' })
      team.push({ n: team.length, grid_code: grid, worker_code: t.supervisor.code, role: 'supervisor' })
    }
    await this.insert('insert_grid_team', team)
    this.counts.workers = this.workers.length
    this.counts.grid_team = team.length
  }

  // ── 3. the lines objects are placed along: roads, else grid edges ──
  async lines(): Promise<void> {
    const [{ n }] = await this.q<{ n: number }>('roads_usable')
    this.linesFromRoads = n > 0
    await this.q(this.linesFromRoads ? 'lines_from_roads' : 'lines_from_grid_edges')
    await this.q('index_lines')
    const s = await this.q<{ kind: string; lines: number; km: number }>('lines_summary')
    this.log(`objects: placing along ${this.linesFromRoads ? 'roads' : 'grid edges (no roads yet)'}: ${s.map((r) => `${r.kind} ${r.lines} lines ${r.km} km`).join(', ')}`)
  }

  loadPois(): void {
    const fc = JSON.parse(fs.readFileSync(new URL('shanghai-lujiazui-osm/shanghai_pois.geojson', realdata), 'utf8')) as {
      features: { geometry: { type: string; coordinates: number[] }; properties: Record<string, unknown> }[]
    }
    const seen = new Map<number, Poi>()
    for (const f of fc.features) {
      const id = Number(f.properties.id)
      if (f.geometry?.type !== 'Point' || !Number.isFinite(id) || seen.has(id)) continue
      seen.set(id, {
        id,
        kind: String(f.properties.kind ?? ''),
        name: (f.properties.name as string) ?? null,
        name_en: (f.properties['name:en'] as string) ?? null,
        x: r7(f.geometry.coordinates[0]),
        y: r7(f.geometry.coordinates[1]),
      })
    }
    this.pois = [...seen.values()].sort((a, b) => a.id - b.id)
  }

  // ── 4. parts (部件) ──
  async partsStep(): Promise<void> {
    this.step(4)
    const layout = dataCsv('part_layout.csv')
    const classes = new Map(dataCsv('part_classes.csv').map((c) => [c.code, c]))
    const phase = layout.map(() => this.rng.u())
    let scale = 1
    let pts: LinePoint[] = []
    for (let attempt = 0; attempt < 5; attempt++) {
      pts = await this.linePoints(layout.map((r, n) => ({ n, kinds: r.road_kinds, spacing: +r.spacing_m * scale, phase: phase[n] * +r.spacing_m * scale })))
      if (pts.length === 0 || (pts.length >= PARTS_MIN && pts.length <= PARTS_MAX)) break
      scale *= pts.length < PARTS_MIN ? pts.length / (PARTS_MIN * 1.25) : pts.length / (PARTS_MAX * 0.8)
    }
    if (scale !== 1) this.log(`objects: part spacing scaled by ${scale.toFixed(3)} to fit ${PARTS_MIN}–${PARTS_MAX} parts`)
    const drafts: (Pt & { class_code: string; road: string | null; poi?: Poi })[] = []
    for (const p of pts) {
      const row = layout[p.plan]
      const side = this.rng.chance(0.5) ? 90 : -90
      const off = this.rng.range(+row.offset_min_m, +row.offset_max_m)
      const q = move(move(p, p.az + side, off), p.az, this.rng.range(-1.5, 1.5))
      drafts.push({ ...q, class_code: row.class_code, road: p.name })
    }
    const mapping = dataCsv('poi_mapping.csv')
    const poiClass = new Map(mapping.filter((m) => m.target === 'part').map((m) => [m.poi_kind, m.value]))
    for (const poi of this.pois) {
      const cls = poiClass.get(poi.kind)
      if (cls) drafts.push({ x: poi.x, y: poi.y, class_code: cls, road: null, poi })
    }
    const where = await this.locate(drafts)
    const seq = new Map<string, number>()
    const rows: object[] = []
    drafts.forEach((d, i) => {
      const at = where[i]
      if (!at) return
      const cls = classes.get(d.class_code)!
      const key = at.district + d.class_code
      const k = (seq.get(key) ?? 0) + 1
      seq.set(key, k)
      const code = at.district + d.class_code + pad(k, 6)
      const isCover = d.class_code.startsWith('01') && +d.class_code.slice(2) <= 11
      const state = this.rng.table(isCover ? { intact: 93, damaged: 4, lost: 1, occupied: 2 } : { intact: 94, damaged: 4.5, lost: 0, occupied: 1.5 })
      const first = this.pastDate(2006, 365)
      const changed = this.rng.chance(0.25) ? first + this.rng.u() * (this.anchor - DAY - first) : null
      const owner = this.dept(cls.owner)
      const maintainer = this.dept(cls.maintainer)
      const name = d.poi?.name ? `${d.poi.name}${d.poi.name.endsWith(cls.minor_name) ? '' : cls.minor_name}` : `${d.road ?? ''}${cls.minor_name}`
      rows.push({
        n: rows.length,
        code,
        external_id: d.poi ? `osm:node:${d.poi.id}` : null,
        class_code: d.class_code,
        name,
        owner_dept_id: owner.id,
        property_unit: owner.name,
        maintainer_dept_id: maintainer.id,
        state,
        first_date: this.date(first),
        changed_at: changed === null ? null : this.date(changed),
        source: d.poi ? 'osm' : 'survey',
        note: d.poi ? `OpenStreetMap ${d.poi.kind} ${d.poi.id}` : d.road ? `沿${d.road}` : null,
        grid_code: at.grid,
        x: d.x,
        y: d.y,
      })
      this.parts.push({ code, class_code: d.class_code, name, grid: at.grid, road: d.road, maintainer_dept_id: maintainer.id, x: d.x, y: d.y })
    })
    await this.insert('insert_parts', rows)
    const ids = new Map((await this.q<{ id: number; code: string }>('part_ids')).map((r) => [r.code, r.id]))
    for (const p of this.parts) p.id = ids.get(p.code)
    this.counts.parts = rows.length
  }

  // ── 5. organizations and key places ──
  async placesStep(): Promise<void> {
    this.step(5)
    this.buildings = (await this.q<Building>('building_info')).map((b) => ({ ...b, x: r7(b.x), y: r7(b.y) }))
    const mapping = dataCsv('poi_mapping.csv')
    const kpKind = new Map(mapping.filter((m) => m.target === 'key_place').map((m) => [m.poi_kind, m.value]))
    const orgKind = new Map(mapping.filter((m) => m.target === 'organization').map((m) => [m.poi_kind, m.value]))
    const label: Record<string, string> = {
      school: '学校', kindergarten: '幼儿园', hospital: '医院', pharmacy: '药店', subway_entrance: '地铁站出入口', station: '车站',
      bus_station: '公交枢纽', ferry_terminal: '轮渡站', museum: '博物馆', cinema: '影院', arts_centre: '艺术中心', mall: '商场',
      library: '图书馆', government: '政府机关', police: '派出所', fire_station: '消防站', embassy: '领事馆', place_of_worship: '宗教场所', fuel: '加油站',
    }
    const risk: Record<string, Record<string, number>> = {
      school: { green: 50, blue: 30, yellow: 20 },
      kindergarten: { green: 50, blue: 30, yellow: 20 },
      hospital: { blue: 50, yellow: 40, orange: 10 },
      market: { blue: 40, yellow: 40, orange: 15, red: 5 },
      hazardous: { yellow: 30, orange: 50, red: 20 },
      construction: { blue: 10, yellow: 45, orange: 35, red: 10 },
      transport_hub: { blue: 40, yellow: 50, orange: 10 },
      venue: { green: 10, blue: 50, yellow: 40 },
      government: { green: 80, blue: 20 },
      religious: { green: 40, blue: 60 },
      other: { green: 60, blue: 40 },
    }
    const kp: { n: number; external_id: string; name: string; kind: string; risk_color: string; x: number; y: number }[] = []
    for (const poi of this.pois) {
      const kind = kpKind.get(poi.kind)
      if (!kind) continue
      const name = poi.name ?? (poi.name_en ? `${poi.name_en}` : label[poi.kind] ?? poi.kind)
      kp.push({ n: kp.length, external_id: `osm:node:${poi.id}`, name, kind, risk_color: this.rng.table(risk[kind]), x: poi.x, y: poi.y })
      if (kind === 'hazardous') this.hazardSites.push({ x: poi.x, y: poi.y, grid: null })
    }
    // Generated: markets, construction sites and hazardous sites, street by street.
    const wanted: { street: Street; kind: string; name: string }[] = []
    for (const s of this.streets) {
      const short = s.name.replace(/(街道|镇)$/, '')
      const sg = this.grids.filter((g) => g.street_code === s.code)
      const markets = 1 + Math.floor(sg.length / 10)
      for (let k = 0; k < markets; k++) wanted.push({ street: s, kind: 'market', name: `${short}${k === 0 ? '' : this.rng.pick(['东', '西', '南', '北', '新'])}菜市场` })
      for (let k = 0; k < 1 + (sg.length > 10 ? 1 : 0); k++)
        wanted.push({ street: s, kind: 'construction', name: `${short}${this.rng.pick(['城市更新', '旧区改造', '商办楼', '地下管线', '道路改建', '综合体'])}项目${this.rng.pick(['一期', '二期', ''])}工地` })
      wanted.push({ street: s, kind: 'hazardous', name: `${short}${this.rng.pick(['液化气供应站', '危险化学品经营部', '加油站'])}` })
    }
    const spots = await this.pointsIn(wanted.map((w) => ({ grid: this.rng.pick(this.grids.filter((g) => g.street_code === w.street.code)).code, count: 1 })))
    wanted.forEach((w, i) => {
      const p = spots[i][0]
      if (!p) return
      kp.push({ n: kp.length, external_id: `onegrid:kp:${kp.length + 1}`, name: w.name, kind: w.kind, risk_color: this.rng.table(risk[w.kind]), x: p.x, y: p.y })
      if (w.kind === 'construction') this.constructionSites.push({ ...p, grid: null })
      if (w.kind === 'hazardous') this.hazardSites.push({ ...p, grid: null })
    })
    for (const b of this.buildings) {
      if ((b.use ?? b.kind) !== 'construction') continue
      const name = b.name ? `${b.name}工地` : `${b.address ?? '在建'}工地`
      kp.push({ n: kp.length, external_id: `onegrid:kp:building:${b.id}`, name, kind: 'construction', risk_color: this.rng.table(risk.construction), x: b.x, y: b.y })
      this.constructionSites.push({ x: b.x, y: b.y, grid: b.grid_code })
    }
    await this.insert('insert_key_places', kp)
    this.counts.key_places = kp.length

    // Organizations: named OSM businesses, plus 两新组织 in every grid.
    const orgs: { n: number; external_id: string; name: string; kind: string; address: string | null; contact: string; x: number; y: number }[] = []
    for (const poi of this.pois) {
      const kind = orgKind.get(poi.kind)
      if (!kind || !poi.name) continue
      orgs.push({ n: orgs.length, external_id: `osm:node:${poi.id}`, name: poi.name, kind, address: null, contact: `${this.rng.name()} ${this.rng.landline()}`, x: poi.x, y: poi.y })
    }
    const byGrid = new Map<string, Building[]>()
    for (const b of this.buildings) if (b.grid_code) byGrid.set(b.grid_code, [...(byGrid.get(b.grid_code) ?? []), b])
    const orgPlan: { g: Grid; kind: string; name: string; b?: Building }[] = []
    for (const g of this.grids) {
      const short = g.community_name.replace(/(居委会|社区)$/, '')
      for (let k = this.rng.int(2, 4); k > 0; k--) {
        const kind = this.rng.table({ enterprise: 50, private_non_enterprise: 18, community_org: 18, social_group: 10, foundation: 4 })
        const name =
          kind === 'enterprise' ? this.faker.company.name()
          : kind === 'private_non_enterprise' ? `${g.street_name.replace(/街道$/, '')}${this.rng.pick(['社区养老服务中心', '青少年活动中心', '社工服务社', '助餐点', '培训学校', '托育中心'])}`
          : kind === 'community_org' ? `${short}${this.rng.pick(['志愿者服务队', '睦邻文体团队', '老年协会', '楼组自治小组', '平安巡逻队', '业主委员会'])}`
          : kind === 'social_group' ? `${g.district_name}${this.rng.pick(['个体劳动者协会', '楼宇经济促进会', '餐饮行业协会', '商会', '志愿者协会'])}`
          : `${g.district_name}${this.rng.pick(['慈善基金会', '社区发展基金会', '教育基金会'])}`
        const bs = byGrid.get(g.code)
        orgPlan.push({ g, kind, name, b: bs?.length ? this.rng.pick(bs) : undefined })
      }
    }
    const free = await this.pointsIn(this.grids.map((g) => ({ grid: g.code, count: orgPlan.filter((o) => o.g === g && !o.b).length })))
    const used = new Map<string, number>()
    for (const o of orgPlan) {
      let p: Pt | undefined = o.b
      if (!p) {
        const k = used.get(o.g.code) ?? 0
        used.set(o.g.code, k + 1)
        p = free[this.grids.indexOf(o.g)][k]
      }
      if (!p) continue
      orgs.push({
        n: orgs.length,
        external_id: `onegrid:org:${orgs.length + 1}`,
        name: o.name,
        kind: o.kind,
        address: o.b?.address ?? `${o.g.street_name}${o.g.name}`,
        contact: `${this.rng.name()} ${this.rng.mobile()}`,
        x: p.x,
        y: p.y,
      })
    }
    await this.insert('insert_organizations', orgs)
    this.counts.organizations = orgs.length
  }

  // ── 6. sensors and their hourly history ──
  async sensorsStep(): Promise<void> {
    this.step(6)
    const T = this.sensorTypes
    const drafts: Omit<Sensor, 'code' | 'status' | 'unit'>[] = []
    const add = (type: string, p: Pt, name: string, extra: Partial<Sensor> = {}) => drafts.push({ type, name, x: r7(p.x), y: r7(p.y), grid: null, ...extra })

    // Air quality: the real national stations of Shanghai (CNEMC codes and places), then micro-stations.
    const cnemc = readCsv(new URL('cnemc-sample/cnemc_2022-01-01T00_beijing_shanghai.csv', realdata)).filter((r) => r.area === '上海市')
    const cnemcBase = new Map<string, number>()
    for (const r of cnemc) {
      add('air_quality', { x: +r.longitude, y: +r.latitude }, `国控站 ${r.positionname}`, { code: r.stationcode } as Partial<Sensor>)
      cnemcBase.set(r.stationcode, +(r.aqi || 0) || 40)
    }
    for (let i = 0; i < this.grids.length; i += 3) {
      const g = this.grids[i]
      add('air_quality', move(g, this.rng.range(0, 360), this.rng.range(5, 40)), `${g.name}${T.air_quality.name}`)
    }
    // Water level and flood-wall structure along the river banks.
    const banks = await this.q<{ i: number; x: number; y: number; grid_code: string }>('bank_points', [350, await this.hasWater()])
    banks.forEach((b, k) => {
      add('water_level', b, `${this.gridBy.get(b.grid_code)?.name ?? ''}${T.water_level.name}`)
      if (k % 2 === 0) add('structural', b, `${this.gridBy.get(b.grid_code)?.name ?? ''}防汛墙${T.structural.name}`)
    })
    // Structural monitoring on tall buildings.
    for (const b of this.buildings) if (b.height_m >= 100) add('structural', b, `${b.name ?? b.address ?? `建筑${b.id}`}${T.structural.name}`)
    // Noise and dust along major roads, and at construction sites.
    const along = await this.linePoints([
      { n: 0, kinds: 'major_road', spacing: 600, phase: 150 },
      { n: 1, kinds: 'major_road', spacing: 900, phase: 400 },
    ])
    for (const p of along) {
      const q = move(p, p.az + (this.rng.chance(0.5) ? 90 : -90), this.rng.range(8, 12))
      if (p.plan === 0) add('noise', q, `${p.name ?? ''}${T.noise.name}`)
      else add('dust', q, `${p.name ?? ''}${T.dust.name}`)
    }
    for (const c of this.constructionSites) {
      add('noise', move(c, this.rng.range(0, 360), this.rng.range(10, 30)), `工地${T.noise.name}`)
      for (let k = 0; k < 2; k++) add('dust', move(c, this.rng.range(0, 360), this.rng.range(10, 40)), `工地${T.dust.name}`)
    }
    // Gas: restaurants, hazardous sites and gas manhole covers.
    for (const poi of this.pois) if (['restaurant', 'fast_food', 'cafe'].includes(poi.kind)) add('gas', move(poi, this.rng.range(0, 360), this.rng.range(2, 6)), `${poi.name ?? '餐饮店'}${T.gas.name}`)
    for (const h of this.hazardSites) for (let k = 0; k < 2; k++) add('gas', move(h, this.rng.range(0, 360), this.rng.range(3, 15)), `危险源${T.gas.name}`)
    for (const p of this.parts) if (p.class_code === '0111' && this.rng.chance(0.2)) add('gas', p, `${p.name}${T.gas.name}`, { part: p })
    // Cover tilt on a share of the manhole covers.
    const covers = this.parts.filter((p) => /^01(0[1-7]|1[01])$/.test(p.class_code))
    const tilt = Math.min(1, 380 / Math.max(1, covers.length))
    for (const p of covers) if (this.rng.chance(tilt)) add('cover_tilt', p, `${p.name}${T.cover_tilt.name}`, { part: p })
    // Smoke detectors in buildings (in grids when there are no buildings), filling up to the target.
    const homes = this.buildings.filter((b) => b.grid_code && b.kind !== 'building_part')
    let smoke = Math.max(Math.round(homes.length * 0.1), SENSORS_MIN - drafts.length)
    if (homes.length) {
      for (const b of this.rng.sample(homes, Math.min(smoke, homes.length))) add('smoke', b, `${b.name ?? b.address ?? '楼宇'}${T.smoke.name}`)
      smoke -= Math.min(smoke, homes.length)
    }
    if (smoke > 0) {
      const per = this.grids.map(() => 0)
      for (let k = 0; k < smoke; k++) per[this.rng.int(0, this.grids.length - 1)]++
      const spots = await this.pointsIn(this.grids.map((g, i) => ({ grid: g.code, count: per[i] })))
      spots.forEach((ps, i) => ps.forEach((p) => add('smoke', p, `${this.grids[i].name}${T.smoke.name}`)))
    }

    const where = await this.locate(drafts)
    const seq = new Map<string, number>()
    const rows: object[] = []
    const readings: { id?: number; code: string; t0: string; v: number[] }[] = []
    const series = new SeriesMaker(this, cnemcBase)
    drafts.forEach((d, i) => {
      const at = where[i]
      const t = T[d.type]
      const external = (d as Sensor).code ? `cnemc:${(d as Sensor).code}` : null
      // Sensors must be in a grid, except the real national stations (outside the demo area).
      if (!at && !external) return
      const district = at?.district ?? '310000'
      const key = `${t.prefix}${district}`
      const k = (seq.get(key) ?? 0) + 1
      seq.set(key, k)
      const code = external ? (d as Sensor).code : `${t.prefix}${district}${pad(k, 5)}`
      const status = this.rng.table({ online: 91, offline: 6.5, alarm: 2.5 })
      const s = series.make(d.type, status, code)
      const sensor: Sensor = { ...d, code, status, grid: at?.grid ?? null, unit: t.unit, alarmAt: s.alarmAt, last_value: s.values.at(-1) }
      this.sensors.push(sensor)
      readings.push({ code, t0: iso(s.t0), v: s.values })
      rows.push({
        n: rows.length,
        code,
        external_id: external,
        type: d.type,
        name: d.name,
        unit: t.unit,
        thresholds: { warn: t.warn, alarm: t.alarm, unit: t.unit, direction: 'above' },
        status,
        last_value: s.values.at(-1) ?? null,
        last_seen: s.values.length ? iso(s.t0 + (s.values.length - 1) * HOUR) : null,
        installed_on: this.date(this.pastDate(2019, 30)),
        grid_code: at?.grid ?? null,
        x: d.x,
        y: d.y,
      })
    })
    await this.insert('insert_sensors', rows)
    const ids = new Map((await this.q<{ id: number; code: string }>('sensor_ids')).map((r) => [r.code, r.id]))
    for (const s of this.sensors) s.id = ids.get(s.code)
    for (const r of readings) r.id = ids.get(r.code)
    const payload = readings.filter((r) => r.v.length).map((r) => ({ id: r.id, t0: r.t0, v: r.v }))
    await this.insert('insert_readings', payload, 150)
    this.counts.sensors = rows.length
    this.counts.sensor_readings = payload.reduce((a, r) => a + r.v.length, 0)
  }

  private async hasWater(): Promise<boolean> {
    const [{ n }] = await this.q<{ n: number }>('water_count')
    return n > 0
  }

  // ── 7. cameras ──
  async camerasStep(): Promise<void> {
    this.step(7)
    const nodes = await this.q<{ node: number; x: number; y: number; line_id: number; name: string | null; az: number }>('camera_nodes', [30])
    const drafts: (Pt & { kind: 'ptz' | 'fixed'; heading: number; name: string; place: string })[] = []
    const byNode = new Map<number, typeof nodes>()
    for (const r of nodes) byNode.set(r.node, [...(byNode.get(r.node) ?? []), r])
    for (const approaches of byNode.values()) {
      const names = [...new Set(approaches.map((a) => a.name).filter(Boolean))] as string[]
      const here = names.length >= 2 ? `${names[0]}/${names[1]}路口` : `${names[0] ?? '无名道路'}路口`
      const node = { x: approaches[0].x, y: approaches[0].y }
      if (this.rng.chance(0.5)) drafts.push({ ...move(node, this.rng.range(0, 360), this.rng.range(4, 10)), kind: 'ptz', heading: approaches[0].az, name: `${here}球机`, place: here })
      for (const a of this.rng.shuffle(approaches).slice(0, 3)) {
        if (!this.rng.chance(0.6)) continue
        drafts.push({ ...move(move(node, a.az + 180, this.rng.range(5, 12)), a.az + 90, this.rng.range(-8, 8)), kind: 'fixed', heading: a.az + this.rng.range(-8, 8), name: `${here}${a.name && names.length >= 2 ? `${a.name}方向` : ''}枪机`, place: here })
      }
    }
    const atNodes = drafts.length
    let spacing = 250
    for (let attempt = 0; attempt < 5; attempt++) {
      drafts.length = atNodes
      const poles = new Map<string, number>()
      const along = await this.linePoints([{ n: 0, kinds: 'major_road', spacing, phase: spacing / 3 }])
      for (const p of along) {
        const q = move(p, p.az + (this.rng.chance(0.5) ? 90 : -90), this.rng.range(6, 12))
        const back = this.rng.chance(0.5)
        const road = p.name ?? '道路'
        poles.set(road, (poles.get(road) ?? 0) + 1)
        drafts.push({ ...q, kind: this.rng.chance(0.15) ? 'ptz' : 'fixed', heading: p.az + (back ? 180 : 0) + this.rng.range(-10, 10), name: `${road}${poles.get(road)}号杆${this.rng.chance(0.5) ? '枪机' : '摄像机'}`, place: `${road}${poles.get(road)}号杆` })
      }
      if (drafts.length >= CAMERAS_MIN * 1.3 || along.length === 0) break
      spacing *= Math.max(0.3, drafts.length / (CAMERAS_MIN * 1.5))
    }
    const where = await this.locate(drafts)
    const seq = new Map<string, number>()
    const rows: object[] = []
    drafts.forEach((d, i) => {
      const at = where[i]
      if (!at) return
      const k = (seq.get(at.district) ?? 0) + 1
      seq.set(at.district, k)
      // GB/T 28181 device id: centre code (district 6 + unit 2) + industry 2 + type 3 (132 IPC) + network 1 + sequence 6.
      const code = `${at.district}00` + '00' + '132' + '0' + pad(k, 6)
      const heading = Math.round((((d.heading % 360) + 360) % 360) * 10) / 10
      const c: Camera = { code, name: d.name, place: d.place, heading: heading >= 360 ? 0 : heading, range: d.kind === 'ptz' ? this.rng.int(100, 150) : this.rng.int(50, 120), grid: at.grid, status: this.rng.table({ online: 92, offline: 5, fault: 3 }), x: d.x, y: d.y }
      this.cameras.push(c)
      rows.push({ n: rows.length, code, name: d.name, kind: d.kind, heading_deg: c.heading, fov_deg: d.kind === 'ptz' ? 360 : 5 * this.rng.int(8, 18), range_m: c.range, stream_url: `rtsp://demo.invalid/cam/${code}`, status: c.status, grid_code: at.grid, x: d.x, y: d.y })
    })
    await this.insert('insert_cameras', rows)
    this.counts.cameras = rows.length
  }

  // ── 8. houses and people ──
  async housesStep(): Promise<void> {
    this.step(8)
    const homes = this.buildings.filter((b) => b.kind !== 'building_part' && b.area_m2 > 20)
    if (homes.length === 0) {
      this.counts.houses = 0
      this.counts.people = 0
      return
    }
    const RES = new Set(['residential', 'apartments', 'house', 'dormitory', 'detached', 'terrace', 'semidetached_house'])
    const COM = new Set(['commercial', 'retail', 'hotel', 'bank', 'restaurant', 'fast_food', 'cafe', 'mall', 'supermarket', 'shop'])
    const OFF = new Set(['office', 'tower', 'government', 'embassy', 'company'])
    const unitArea = { residential: 90, commercial: 160, office: 300, mixed: 110 }
    const plans = homes.map((b) => {
      const k = (b.use ?? '').toLowerCase()
      const use: keyof typeof unitArea = RES.has(k) ? 'residential' : COM.has(k) ? 'commercial' : OFF.has(k) ? 'office'
        : k && k !== 'building' && k !== 'yes' ? 'commercial'
        : b.height_m <= 30 ? this.rng.table({ residential: 70, mixed: 20, commercial: 10 })
        : this.rng.table({ office: 55, residential: 35, mixed: 10 })
      const perFloor = Math.max(1, Math.min(30, Math.round((b.area_m2 * 0.75) / unitArea[use])))
      return { b, use, perFloor, total: perFloor * Math.max(1, b.levels) }
    })
    const raw = plans.reduce((a, p) => a + p.total, 0)
    const f = Math.min(1, HOUSES_TARGET / raw)
    const houses: { n: number; building_id: number; unit_no: string; floor: number; area_m2: number; use: string; is_rental: boolean; grid_code: string | null }[] = []
    for (const p of plans) {
      const n = Math.max(1, Math.min(p.total, Math.round(p.total * f)))
      const step = p.total / n
      for (let k = 0; k < n; k++) {
        // One flat from each of n equal slices of the building's flats.
        const lo = Math.floor(k * step)
        const idx = Math.min(p.total - 1, lo + Math.floor(this.rng.u() * Math.max(1, Math.floor((k + 1) * step) - lo)))
        const floor = 1 + Math.floor(idx / p.perFloor)
        const unit = 1 + (idx % p.perFloor)
        const use = p.use === 'mixed' ? (floor <= 2 ? 'commercial' : 'residential') : p.use
        houses.push({
          n: houses.length,
          building_id: p.b.id,
          unit_no: `${floor}${pad(unit, 2)}`,
          floor,
          area_m2: Math.round(unitArea[p.use] * this.rng.range(0.6, 1.5) * 10) / 10,
          use,
          is_rental: this.rng.chance(use === 'residential' ? 0.25 : 0.55),
          grid_code: p.b.grid_code,
        })
      }
    }
    await this.insert('insert_houses', houses)
    const ids = new Map((await this.q<{ id: number; building_id: number; unit_no: string }>('house_ids')).map((r) => [`${r.building_id}/${r.unit_no}`, r.id]))
    this.counts.houses = houses.length

    // People (实有人口): households in residential houses, a few people in the others.
    const regions = dataCsv('id_regions.csv')
    const shanghai = regions.filter((r) => r.kind === 'shanghai').map((r) => r.code)
    const provinces = regions.filter((r) => r.kind === 'province').map((r) => r.code)
    const nations = regions.filter((r) => r.kind === 'nationality').map((r) => r.code)
    const residential = houses.filter((h) => h.use === 'residential').length
    const mean = Math.min(6, Math.max(1.5, PEOPLE_TARGET / Math.max(1, residential)))
    const districtOf = new Map(this.buildings.map((b) => [b.id, b.grid_code?.slice(0, 6) ?? '310101']))
    const anchorYear = this.clock.wall(this.anchor).getUTCFullYear()
    const used = new Set<string>()
    const people: object[] = []
    const ageBands = { 2: 3, 8: 5, 15: 5, 22: 8, 30: 14, 38: 14, 46: 12, 54: 12, 62: 12, 70: 9, 78: 5, 86: 2 }
    const person = (house: { id: number; grid_code: string | null }, category: 'registered' | 'floating' | 'overseas', surname: string | null, ageHint: number | null, homeDistrict: string) => {
      const gender = this.rng.chance(0.5) ? 'M' : 'F'
      const sex = gender === 'M' ? 'male' : 'female'
      const age = ageHint ?? Math.max(0, Math.min(98, +this.rng.table(ageBands) + this.rng.int(-3, 4)))
      const year = anchorYear - age - (this.rng.chance(0.5) ? 1 : 0)
      const birth = new Date(Date.UTC(year, 0, 1 + this.rng.int(0, 364)))
      const ymd = `${birth.getUTCFullYear()}${pad(birth.getUTCMonth() + 1, 2)}${pad(birth.getUTCDate(), 2)}`
      let id = ''
      for (let tries = 0; tries < 20 && (!id || used.has(id)); tries++) {
        const seq = this.rng.int(0, 99) * 10 + (gender === 'M' ? this.rng.pick([1, 3, 5, 7, 9]) : this.rng.pick([0, 2, 4, 6, 8]))
        // Foreign permanent residents (2023 format): 9 + province 2 + nationality 3 + birth 8 + sequence 3.
        const body = category === 'overseas' ? `931${this.rng.pick(nations)}${ymd}${pad(seq, 3)}` : `${category === 'registered' ? (this.rng.chance(0.7) ? homeDistrict : this.rng.pick(shanghai)) : this.rng.pick(provinces)}${ymd}${pad(seq, 3)}`
        id = body + idCheckChar(body)
      }
      used.add(id)
      const name = category === 'overseas' ? `${this.fakerEn.person.firstName(sex)} ${this.fakerEn.person.lastName()}` : (surname ?? this.faker.person.lastName()) + this.faker.person.firstName(sex)
      let special: string | null = null
      let risk: number | null = null
      if (age >= 18 && category !== 'overseas' && this.rng.chance(0.012)) {
        special = this.rng.table({ released: 25, community_correction: 20, drug: 15, mental: 30, petition: 10 })
        risk = special === 'mental' ? +this.rng.table({ 0: 30, 1: 30, 2: 20, 3: 12, 4: 6, 5: 2 }) : this.rng.int(1, 3)
      }
      people.push({ n: people.length, house_id: house.id, name, id_number: id, phone: age >= 12 ? this.rng.mobile() : null, gender, birth_year: birth.getUTCFullYear(), category, special_group: special, risk_level: risk, grid_code: house.grid_code })
      return name
    }
    for (const h of houses) {
      const hid = { id: ids.get(`${h.building_id}/${h.unit_no}`)!, grid_code: h.grid_code }
      const home = districtOf.get(h.building_id)!
      if (h.use !== 'residential') {
        if (this.rng.chance(0.15)) person(hid, this.rng.chance(0.85) ? 'floating' : 'overseas', null, this.rng.int(20, 55), home)
        continue
      }
      const size = Math.max(1, Math.round(mean * this.rng.range(0.45, 1.55)))
      const category = h.is_rental ? this.rng.table({ floating: 78, overseas: 10, registered: 12 }) : this.rng.table({ registered: 90, floating: 7, overseas: 3 })
      const head = person(hid, category, null, this.rng.int(28, 80), home)
      const surname = category === 'overseas' ? null : head.slice(0, 1)
      for (let k = 1; k < size; k++) person(hid, h.is_rental && this.rng.chance(0.4) ? 'floating' : category, k >= 2 && surname ? surname : null, null, home)
    }
    await this.insert('insert_people', people, 5000)
    this.counts.people = people.length
  }

  // ── 9. cases and their actions ──
  async casesStep(): Promise<void> {
    this.step(9)
    await new CaseMaker(this).run()
  }

  // ── 10. worker tracks ──
  async tracksStep(): Promise<void> {
    this.step(10)
    await new TrackMaker(this).run()
  }

  // ── 11. grid codes by spatial join ──
  async gridCodes(): Promise<void> {
    for (const t of ['parts', 'sensors', 'cameras', 'organizations', 'key_places', 'cases', 'houses', 'people']) await this.q(`grid_${t}`)
  }
}

// ─── sensor readings ────────────────────────────────────────────────────────────────────────

/** Hourly histories: a daily rhythm per type, shared weather and tide, noise, a few crossings. */
class SeriesMaker {
  private hours: number[] = []
  private localHour: number[] = []
  private weather: number[] = []
  private readonly t0: number
  constructor(
    private s: Seeder,
    private cnemcBase: Map<string, number>,
  ) {
    this.t0 = s.anchor - READING_HOURS * HOUR
    for (let h = 0; h < READING_HOURS; h++) {
      this.hours.push(this.t0 + h * HOUR)
      this.localHour.push(s.clock.hour(this.t0 + h * HOUR))
    }
    // Regional air: an AR(1) day factor with one pollution episode in the second week.
    let w = 0
    for (let d = 0; d <= READING_HOURS / 24; d++) {
      w = 0.6 * w + 0.22 * s.rng.normal()
      this.weather.push(Math.exp(w) * (d >= 8 && d <= 10 ? 1.6 : 1))
    }
  }

  make(type: string, status: string, code: string): { t0: number; values: number[]; alarmAt?: number } {
    const r = this.s.rng
    const t = this.s.sensorTypes[type]
    const base = r.range(t.base[0], t.base[1]) * (type === 'air_quality' && this.cnemcBase.has(code) ? this.cnemcBase.get(code)! / 45 : 1)
    const amp = t.daily * r.range(0.7, 1.3)
    const lag = r.range(-0.3, 0.3)
    const drift = type === 'structural' ? r.range(-0.01, 0.02) : 0
    const v: number[] = []
    for (let h = 0; h < READING_HOURS; h++) {
      const H = this.localHour[h]
      const day = Math.floor(h / 24)
      const hoursFromStart = h
      let x: number
      switch (type) {
        case 'noise':
          x = base + amp * TRAFFIC[Math.floor(H)] + r.normal() * 1.5
          break
        case 'dust':
          x = (base + amp * (TRAFFIC[Math.floor(H)] + (H >= 7 && H < 18 ? 0.6 : 0))) * this.weather[day] * (1 + r.normal() * 0.12)
          break
        case 'air_quality':
          x = base * this.weather[day] * (1 + 0.15 * Math.sin(((H - 4) / 24) * 2 * Math.PI)) + amp * 0.3 * TRAFFIC[Math.floor(H)] + r.normal() * 3
          break
        case 'smoke':
          x = base + amp * COOKING[Math.floor(H)] + Math.abs(r.normal()) * 0.03
          break
        case 'gas':
          x = base + amp * COOKING[Math.floor(H)] + Math.abs(r.normal()) * 0.2
          break
        case 'water_level': {
          // Semi-diurnal tide (12.42 h) with the spring–neap cycle (14.77 days).
          const th = hoursFromStart + lag
          const spring = 1 + 0.3 * Math.cos((2 * Math.PI * th) / (14.77 * 24))
          x = base + amp * spring * Math.cos((2 * Math.PI * th) / 12.42) + r.normal() * 0.04
          break
        }
        case 'cover_tilt':
          x = base + r.normal() * amp
          break
        case 'structural':
          x = base + drift * h + amp * Math.sin(((H - 9) / 24) * 2 * Math.PI) + r.normal() * 0.3
          break
        default:
          x = base
      }
      v.push(Math.max(0, x))
    }
    // A few threshold crossings: a short excursion above warn (sometimes above alarm).
    if (r.chance(type === 'water_level' ? 0 : 0.05)) {
      const start = r.int(0, READING_HOURS - 6)
      const len = r.int(1, 4)
      for (let h = start; h < start + len; h++) v[h] = Math.max(v[h], r.range(t.warn, t.alarm * 1.15))
    }
    let alarmAt: number | undefined
    if (status === 'alarm') {
      const len = r.int(1, 3)
      for (let h = READING_HOURS - len; h < READING_HOURS; h++) v[h] = Math.max(v[h], r.range(t.alarm * 1.02, t.alarm * 1.3))
      alarmAt = this.hours[READING_HOURS - len]
    }
    let end = READING_HOURS
    if (status === 'offline') end = READING_HOURS - r.int(6, 240)
    const k = 10 ** t.decimals
    return { t0: this.t0, values: v.slice(0, Math.max(0, end)).map((x) => Math.round(x * k) / k), alarmAt }
  }
}

// Relative daily profiles by local hour.
const TRAFFIC = [0.1, 0.05, 0.03, 0.03, 0.05, 0.2, 0.5, 0.85, 1, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.85, 0.9, 1, 0.95, 0.8, 0.65, 0.5, 0.35, 0.2]
const COOKING = [0, 0, 0, 0, 0, 0.1, 0.4, 0.5, 0.2, 0.1, 0.3, 0.9, 1, 0.4, 0.1, 0.1, 0.3, 0.8, 1, 0.6, 0.2, 0.1, 0, 0]
// Case reports by local hour (peaks 9–11 and 14–17).
const CASE_HOURS = [0.15, 0.1, 0.08, 0.06, 0.06, 0.15, 0.4, 0.8, 1.3, 2.2, 2.4, 2.0, 1.0, 1.2, 2.0, 2.2, 2.1, 1.7, 0.9, 0.7, 0.6, 0.45, 0.3, 0.2]

// ─── cases ──────────────────────────────────────────────────────────────────────────────────

type Source = 'patrol' | 'public' | 'hotline' | 'sensor' | 'video' | 'assigned'
const SOURCE_WEIGHTS: Record<Source, number> = { patrol: 56, public: 13, hotline: 17, video: 9, sensor: 6, assigned: 6 }

interface Act {
  action: string
  actor: string
  at: number
  note: string
  geo: Pt | null
}

interface Draft {
  reported: number
  cat: Category
  source: Source
  urgency: 'normal' | 'urgent' | 'critical'
  at: Pt
  fallback: Pt & { grid: string }
  road: string | null
  part?: Part
  sensor?: Sensor
  camera?: Camera
  grid?: string
  forceOpen?: boolean
}

const DETAILS: Record<string, string[]> = {
  '01': ['面积约2平方米', '影响通行', '影响市容', '已持续多日', '群众反映强烈'],
  '02': ['张贴于电杆和墙面', '约十余张', '影响市容', '多处反复出现'],
  '03': ['夜间施工噪声大', '未采取覆盖措施', '路面污染', '影响周边居民'],
  '04': ['影响车辆通行', '存在安全隐患', '需紧急处置'],
  '05': ['占用人行道', '影响行人通行', '高峰时段尤为严重', '屡劝不改'],
  '06': ['双方情绪激动', '多次协商未果', '请求调解'],
  '07': ['有可疑人员聚集', '夜间照明不足'],
  '08': ['存在安全隐患', '楼道内堆放杂物', '需尽快整改'],
  '09': ['需按期走访', '近期情绪不稳定'],
}
const PART_FAULTS = ['破损', '缺失', '移位', '松动', '污损', '倾斜', '功能异常']
const OUTCOMES: Record<string, string[]> = {
  '01': ['已清理完毕，现场恢复整洁', '已清运，地面冲洗干净', '已拆除并清运'],
  '02': ['已清除小广告并覆盖', '已拆除违规广告'],
  '03': ['已责令施工单位整改到位', '已覆盖防尘网并冲洗路面'],
  '04': ['已抢修完毕，恢复正常', '已疏通，排水恢复'],
  '05': ['已劝离，现场秩序恢复', '已规范停放', '已暂扣经营物品并教育'],
  '06': ['经调解双方达成一致', '已签订调解协议'],
  '07': ['已会同派出所排查处置'],
  '08': ['隐患已整改消除', '已清理通道杂物'],
  '09': ['已走访，情况稳定'],
  part: ['已修复', '已更换', '已复位加固', '已清洗修复'],
}
const RETURN_REASONS = ['现场未清理干净', '处置不彻底', '问题反复出现', '照片与现场不符', '未按要求整改到位']

class CaseMaker {
  private r: SeedRng
  private dispatchers = new Map<string, string[]>()
  private staff = new Map<number, string[]>()
  private pool: (Pt & { grid: string; road: string | null })[] = []
  private hot: number[] = []
  private partsByClass = new Map<string, Part[]>()
  private sensorsByType = new Map<string, Sensor[]>()
  private tiltByClass = new Map<string, Sensor[]>()

  constructor(private s: Seeder) {
    this.r = s.rng
  }

  dispatcher(grid: string): string {
    const d = grid.slice(0, 6)
    if (!this.dispatchers.has(d)) this.dispatchers.set(d, Array.from({ length: 6 }, () => this.r.name()))
    return this.r.pick(this.dispatchers.get(d)!)
  }
  handler(deptId: number): string {
    if (!this.staff.has(deptId)) this.staff.set(deptId, Array.from({ length: 5 }, () => this.r.name()))
    return this.r.pick(this.staff.get(deptId)!)
  }

  async run(): Promise<void> {
    const s = this.s
    // Where things happen: points along the streets, a little off the centre line, in grids.
    const along = await s.linePoints([{ n: 0, kinds: 'major_road|minor_road|path', spacing: 45, phase: 10 }])
    const cand = along.map((p) => ({ ...move(p, p.az + (this.r.chance(0.5) ? 90 : -90), this.r.range(2, 15)), road: p.name }))
    const at = await s.locate(cand)
    cand.forEach((c, i) => at[i] && this.pool.push({ ...c, grid: at[i]!.grid }))
    if (this.pool.length < 200) {
      const spots = await s.pointsIn(s.grids.map((g) => ({ grid: g.code, count: 20 })))
      spots.forEach((ps, i) => ps.forEach((p) => this.pool.push({ ...p, grid: s.grids[i].code, road: null })))
    }
    // Hot spots: a few places where problems keep coming back.
    this.hot = this.r.sample(this.pool.map((_, i) => i), Math.min(80, this.pool.length))
    for (const p of s.parts) this.partsByClass.set(p.class_code, [...(this.partsByClass.get(p.class_code) ?? []), p])
    for (const x of s.sensors) {
      if (!x.grid) continue
      this.sensorsByType.set(x.type, [...(this.sensorsByType.get(x.type) ?? []), x])
      if (x.type === 'cover_tilt' && x.part) this.tiltByClass.set(x.part.class_code, [...(this.tiltByClass.get(x.part.class_code) ?? []), x])
    }
    const cats = s.categories.filter((c) => c.weight > 0 && (c.kind === 'event' || this.partsByClass.has(c.code.slice(1))))
    const catWeights = cats.map((c) => c.weight)

    const drafts: Draft[] = []
    const today = s.clock.day(s.anchor)
    for (let k = HISTORY_DAYS; k >= 1; k--) {
      const day = s.clock.day(today, -k)
      const weekend = s.clock.isoWeekday(day) >= 6
      const n = Math.round((weekend ? 195 : 280) * this.r.range(0.92, 1.08))
      const w = s.clock.wall(day)
      const times: number[] = []
      for (let i = 0; i < n; i++) {
        const h = this.r.weighted(CASE_HOURS.map((_, j) => j), CASE_HOURS)
        times.push(s.clock.at(w.getUTCFullYear(), w.getUTCMonth(), w.getUTCDate(), h, this.r.int(0, 59), this.r.int(0, 59)))
      }
      times.sort((a, b) => a - b)
      for (const t of times) drafts.push(this.draft(t, this.r.weighted(cats, catWeights), null))
    }
    // Sensors in alarm right now opened a case automatically.
    for (const x of s.sensors) {
      if (x.status !== 'alarm' || !x.alarmAt || !x.grid) continue
      const cat = x.type === 'cover_tilt' && x.part ? cats.find((c) => c.code === `P${x.part!.class_code}`) : cats.find((c) => c.sensor_type === x.type && c.kind === 'event')
      if (cat) drafts.push(this.draft(x.alarmAt + this.r.int(1, 10) * MINUTE, cat, x))
    }
    drafts.sort((a, b) => a.reported - b.reported)

    // The grid of every place; a point that jittered out of every grid falls back to its base.
    const where = await s.locate(drafts.map((d) => d.at))
    drafts.forEach((d, i) => {
      if (where[i]) d.grid = where[i]!.grid
      else {
        d.at = { x: d.fallback.x, y: d.fallback.y }
        d.grid = d.fallback.grid
      }
    })

    const cases: object[] = []
    const actions: { code: string; acts: Act[] }[] = []
    const perDay = new Map<string, number>()
    const brokenParts = new Map<number, { state: string; at: number }>()
    for (const d of drafts) {
      const ymd = s.clock.ymd(d.reported)
      const k = (perDay.get(ymd) ?? 0) + 1
      perDay.set(ymd, k)
      const code = `C${ymd}${pad(k, 5)}`
      const { row, acts } = this.timeline(d, code)
      cases.push({ n: cases.length, ...row })
      actions.push({ code, acts })
      if (d.part?.id && row.stage !== 'evaluated' && row.stage !== 'closed' && row.stage !== 'cancelled') brokenParts.set(d.part.id, { state: d.cat.code.startsWith('P01') && this.r.chance(0.3) ? 'lost' : 'damaged', at: d.reported })
    }
    await s.insert('insert_cases', cases, 2000)
    const ids = new Map((await s.q<{ id: number; code: string }>('case_ids')).map((r) => [r.code, r.id]))
    const rows: object[] = []
    for (const a of actions) {
      const id = ids.get(a.code)!
      // The record names the duty and the stages of each step, as the workflow would have (server/cases/workflow.ts).
      let stage: Stage = 'reported'
      for (const x of a.acts) {
        const def = ACTION_DEFS.get(x.action as Action)
        const from: Stage | null = x.action === 'report' ? null : stage
        const to: Stage | null = def ? (nextStage(def, stage) ?? stage) : from
        if (to) stage = to
        const role = x.action === 'report' ? 'reporter' : (def?.duties[0] ?? null)
        rows.push({ n: rows.length, case_id: id, action: x.action, actor: x.actor, role, from_stage: from, to_stage: x.action === 'report' ? 'reported' : to, at: iso(x.at), note: x.note, x: x.geo?.x ?? null, y: x.geo?.y ?? null })
      }
    }
    await s.insert('insert_case_actions', rows, 5000)
    await s.q('mark_parts', [JSON.stringify([...brokenParts].map(([id, v]) => ({ id, state: v.state, changed_at: s.date(v.at) })))])
    s.counts.cases = cases.length
    s.counts.case_actions = rows.length
  }

  private draft(reported: number, cat: Category, alarmSensor: Sensor | null): Draft {
    const s = this.s
    const r = this.r
    const hour = s.clock.hour(reported)
    const onDuty = hour >= 8 && hour < 18
    let source: Source
    if (alarmSensor) source = 'sensor'
    else {
      const social = +cat.major_code >= 6
      const sensorPool = cat.kind === 'part' ? this.tiltByClass.get(cat.code.slice(1)) : this.sensorsByType.get(cat.sensor_type)
      const w = (Object.keys(SOURCE_WEIGHTS) as Source[]).map((src) => {
        let x = SOURCE_WEIGHTS[src]
        if (src === 'patrol' && !onDuty) x = 0
        if (src === 'video' && (!cat.video || s.cameras.length === 0)) x = 0
        if (src === 'sensor') x = cat.sensor_type && sensorPool?.length ? x * 4 : 0
        if (social) x *= src === 'hotline' ? 2 : src === 'assigned' ? 1.5 : src === 'public' ? 0.5 : 1
        return x
      })
      source = r.weighted(Object.keys(SOURCE_WEIGHTS) as Source[], w)
    }
    const urgency: Draft['urgency'] = cat.major_code === '04' && cat.kind === 'event' ? r.table({ normal: 20, urgent: 50, critical: 30 }) : alarmSensor ? 'urgent' : r.table({ normal: 93, urgent: 6, critical: 1 })
    const base = this.r.chance(0.25) ? this.pool[this.hot[Math.min(this.hot.length - 1, Math.floor(this.hot.length * this.r.u() ** 2))]] : r.pick(this.pool)
    const d: Draft = { reported, cat, source, urgency, at: base, fallback: base, road: base.road }
    if (cat.kind === 'part') {
      let part: Part
      if (alarmSensor?.part) part = alarmSensor.part
      else if (source === 'sensor') part = r.pick(this.tiltByClass.get(cat.code.slice(1))!).part!
      else part = r.pick(this.partsByClass.get(cat.code.slice(1))!)
      d.part = part
      d.at = move(part, r.range(0, 360), r.range(0, 2))
      d.fallback = { x: part.x, y: part.y, grid: part.grid }
      d.road = part.road
    } else if (source === 'sensor') {
      const x = alarmSensor ?? r.pick(this.sensorsByType.get(cat.sensor_type)!)
      d.sensor = x
      d.at = move(x, r.range(0, 360), r.range(0, 25))
      d.fallback = { x: x.x, y: x.y, grid: x.grid! }
    } else if (source === 'video') {
      const c = r.pick(s.cameras)
      d.camera = c
      d.at = move(c, c.heading + r.range(-20, 20), r.range(15, c.range))
      d.fallback = { x: c.x, y: c.y, grid: c.grid }
      d.road = null
    } else {
      d.at = move(base, r.range(0, 360), r.range(0, 8))
    }
    if (alarmSensor) d.sensor = alarmSensor
    if (!alarmSensor && reported > s.anchor - 20 * DAY && urgency !== 'critical' && r.chance(0.02)) d.forceOpen = true
    return d
  }

  private timeline(d: Draft, code: string): { row: Record<string, unknown> & { stage: string }; acts: Act[] } {
    const s = this.s
    const r = this.r
    const grid = s.gridBy.get(d.grid!)!
    const team = s.teams.get(grid.code)!
    const cat = d.cat
    const f = d.urgency === 'normal' ? 1 : 0.5
    const L = { accept: cat.limits.accept * f, verify: cat.limits.verify * f, dispatch: cat.limits.dispatch * f, handle: cat.limits.handle * f, check: cat.limits.check * f }
    const dept =
      cat.dept === 'part' ? s.deptById.get(d.part!.maintainer_dept_id)! : cat.dept === 'street' ? s.streetOffice(grid.street_code) : s.dept(cat.dept)
    const gridWorker = r.pick(team.workers)
    const patroller = r.chance(0.5) ? team.supervisor : r.pick([team.leader, ...team.workers])
    const address = d.camera ? `${d.camera.place}附近` : d.road ? `${d.road}${r.int(1, 999)}号附近` : `${grid.name}内`
    const subject = d.part ? `${d.part.name}（${d.part.code}）${r.pick(PART_FAULTS)}` : cat.minor_name
    const detail = d.part ? '' : `，${r.pick(DETAILS[cat.major_code] ?? DETAILS['01'])}`
    let description = `${address}：${subject}${detail}`
    if (d.source === 'sensor' && (d.sensor || d.part)) {
      const x = d.sensor ?? s.sensors.find((y) => y.part === d.part)
      if (x) {
        const t = s.sensorTypes[x.type]
        description = `${x.name}（${x.code}）告警：${Math.round(r.range(t.alarm, t.alarm * 1.3) * 10) / 10}${t.unit}。${address}：${subject}`
      }
    }
    const citizen = `${this.s.faker.person.lastName()}${r.chance(0.5) ? '先生' : '女士'}`
    const reporter =
      d.source === 'patrol' ? patroller.name
      : d.source === 'public' ? `市民${citizen}`
      : d.source === 'hotline' ? `12345热线（${citizen}）`
      : d.source === 'sensor' ? (d.sensor?.code ?? '物联感知平台')
      : d.source === 'video' ? `视频智能分析（${d.camera!.code}）`
      : `${grid.district_name}城运中心`
    const acts: Act[] = []
    const add = (action: string, actor: string, at: number, note: string, geo: Pt | null = null) => acts.push({ action, actor, at: Math.round(at / 1000) * 1000, note, geo })
    const place = { x: d.at.x, y: d.at.y }

    let t = d.reported
    const reportNote = { patrol: '巡查上报', public: '市民随手拍上报', hotline: '12345热线转办', sensor: '物联感知告警自动立案', video: '视频智能识别上报', assigned: '上级交办' }[d.source]
    add('report', reporter, t, reportNote, place)
    t += (d.source === 'patrol' || d.source === 'sensor' ? r.range(1, 10) : r.range(5, 50)) * MINUTE * (r.chance(0.05) ? 3 : 1)
    add('accept', this.dispatcher(grid.code), t, '信息受理')
    if (d.source === 'patrol') {
      t += r.range(0.5, 5) * MINUTE
      add('verify', patroller.name, t, '监督员现场上报，核实属实', place)
    } else {
      t += r.range(10 * MINUTE, Math.max(20 * MINUTE, L.verify * HOUR * (r.chance(0.08) ? 2.2 : 0.9)))
      const cancel = r.chance(d.source === 'sensor' ? 0.12 : d.source === 'hotline' || d.source === 'public' ? 0.05 : 0.02) && !d.forceOpen
      if (cancel) {
        add('verify', team.supervisor.name, t, '现场核实：不属实（重复上报或现场无此问题）', place)
        t += r.range(2, 20) * MINUTE
        add('cancel', this.dispatcher(grid.code), t, '核实不属实，作案件注销')
        return this.finish(d, code, acts, { description, address, dept, reporter, worker: gridWorker, deadline: null, cancelled: true })
      }
      add('verify', team.supervisor.name, t, '现场核实属实', place)
    }
    const verified = t
    t += r.range(3, 40) * MINUTE * (r.chance(0.05) ? 4 : 1)
    const dispatched = t
    // 立案 by the shift leader between verification and dispatch (no draw: the rest of the story is unchanged).
    add('register', this.dispatcher(grid.code), verified + (dispatched - verified) / 2, '核实属实，予以立案')
    add('dispatch', this.dispatcher(grid.code), t, `派遣至${dept.name}，处置时限${L.handle}${d.urgency === 'critical' ? '小时' : '工作小时'}`)
    let deadline = d.urgency === 'critical' ? dispatched + L.handle * HOUR : s.cal.add(dispatched, L.handle)
    if (r.chance(0.005)) add('escalate', this.dispatcher(grid.code), dispatched + r.range(20, 90) * MINUTE, '涉及多部门职责，上报区城运中心协调')
    // Everything planned so far comes before the handling (extension, suspension, escalation).
    const handler = this.handler(dept.id)
    if (r.chance(0.04)) {
      const req = dispatched + (deadline - dispatched) * r.range(0.3, 0.7)
      add('request_extension', handler, req, `申请延期${L.handle}工作小时：${r.pick(['需协调产权单位', '需采购配件', '需办理占掘路许可', '天气原因无法施工'])}`)
      add('approve_extension', this.dispatcher(grid.code), req + r.range(20, 120) * MINUTE, `同意延期${L.handle}工作小时`)
      deadline = s.cal.add(deadline, L.handle)
    }
    if (r.chance(0.01)) {
      const sus = dispatched + (deadline - dispatched) * r.range(0.2, 0.5)
      const res = sus + r.range(1, 3) * DAY
      add('suspend', this.dispatcher(grid.code), sus, '缓办：待相关方配合')
      add('resume', this.dispatcher(grid.code), res, '恢复办理')
      deadline += res - sus
    }
    const span = deadline - dispatched
    const late = r.chance(0.11)
    let handled = d.forceOpen ? Infinity : late ? deadline + span * r.range(0.05, 1.2) : dispatched + span * r.range(0.1, 0.95)
    const lastPlanned = Math.max(...acts.map((a) => a.at))
    if (handled <= lastPlanned) handled = lastPlanned + r.range(10, 60) * MINUTE
    if (r.chance(0.08)) {
      const urge = dispatched + span * 0.75
      if (urge < handled) add('urge', this.dispatcher(grid.code), urge, '临近处置时限，催办')
    }
    if (handled > deadline) {
      const after = Number.isFinite(handled) ? (handled - deadline) * r.range(0.1, 0.6) : Math.min(span * r.range(0.05, 0.5), 2 * DAY)
      add('supervise', this.dispatcher(grid.code), deadline + after, '已超处置时限，发督办单')
    }
    const reworks = r.chance(0.06) ? (r.chance(0.2) ? 2 : 1) : 0
    const outcome = r.pick(OUTCOMES[d.part ? 'part' : cat.major_code] ?? OUTCOMES['01'])
    t = handled
    for (let pass = 0; pass <= reworks && Number.isFinite(t); pass++) {
      add('start', handler, t, `${dept.name}处置：${outcome}`, place)
      t += r.range(3, 40) * MINUTE
      add('handle', handler, t, '处置结果已反馈')
      t += r.range(15 * MINUTE, Math.max(30 * MINUTE, L.check * HOUR * 1.1))
      if (pass < reworks) {
        add('check_fail', team.supervisor.name, t, `核查未通过，回退${dept.name}重新处置：${r.pick(RETURN_REASONS)}`, place)
        t += r.range(0.2, 0.8) * L.handle * HOUR
      } else add('check_pass', team.supervisor.name, t, '现场核查通过', place)
    }
    if (Number.isFinite(t)) {
      t += r.range(5, 90) * MINUTE
      add('close', this.dispatcher(grid.code), t, '结案归档')
      t += (d.source === 'public' || d.source === 'hotline' ? r.range(2, 48) : r.range(0.1, 2)) * HOUR
      const sat = +(late || reworks ? r.table({ 1: 8, 2: 12, 3: 25, 4: 30, 5: 25 }) : r.table({ 1: 2, 2: 3, 3: 8, 4: 27, 5: 60 }))
      add('evaluate', d.source === 'public' || d.source === 'hotline' ? reporter : '回访员', t, `回访评价：满意度${sat}分`)
      return this.finish(d, code, acts, { description, address, dept, reporter, worker: gridWorker, deadline, cancelled: false, outcome: reworks ? `返工后${outcome}` : outcome, satisfaction: sat })
    }
    return this.finish(d, code, acts, { description, address, dept, reporter, worker: gridWorker, deadline, cancelled: false })
  }

  /** Cuts the story at the anchor and derives the stage columns from what happened by then. */
  private finish(
    d: Draft,
    code: string,
    all: Act[],
    o: { description: string; address: string; dept: Dept; reporter: string; worker: Worker; deadline: number | null; cancelled: boolean; outcome?: string; satisfaction?: number },
  ): { row: Record<string, unknown> & { stage: string }; acts: Act[] } {
    const acts = all.filter((a) => a.at <= this.s.anchor).sort((a, b) => a.at - b.at)
    const last = (name: string, after = -Infinity) => {
      const a = acts.filter((x) => x.action === name && x.at >= after).at(-1)
      return a ? a.at : null
    }
    const ret = last('check_fail') ?? -Infinity
    const f = {
      accepted_at: last('accept'),
      verified_at: last('verify'),
      registered_at: last('register'),
      dispatched_at: last('dispatch'),
      in_progress_at: last('start', ret),
      handled_at: last('handle', ret),
      checked_at: last('check_pass', ret),
      closed_at: last('close') ?? last('cancel'),
      evaluated_at: last('evaluate'),
    }
    const order = ['accepted', 'verified', 'registered', 'dispatched', 'in_progress', 'handled', 'checked', 'closed', 'evaluated'] as const
    let stage = 'reported'
    for (const k of order) if (f[`${k}_at`] !== null) stage = k
    if (o.cancelled && f.closed_at !== null) stage = 'cancelled'
    const done = stage === 'closed' || stage === 'evaluated'
    const handledBy = f.in_progress_at ?? this.s.anchor
    const overdue = !o.cancelled && o.deadline !== null && f.dispatched_at !== null && handledBy > o.deadline
    const ts = (v: number | null) => (v === null ? null : iso(v))
    // The current stage's clock as the workflow service keeps it: in progress runs on the handling
    // time begun at dispatch (or at the failed check that sent it back); other stages from their own start.
    const stageStart = stage === 'in_progress' ? Math.max(f.dispatched_at ?? d.reported, ret)
      : stage === 'reported' ? d.reported
      : ((f as Record<string, number | null>)[`${stage}_at`] ?? d.reported)
    const stageDue = stageDeadline(this.s.cal, { limits_hours: d.cat.limits }, stage, stageStart, { urgency: d.urgency })
    return {
      acts,
      row: {
        code,
        category_code: d.cat.code,
        source: d.source,
        urgency: d.urgency,
        stage,
        description: o.description,
        address: o.address,
        grid_code: d.grid,
        department_id: f.dispatched_at !== null ? o.dept.id : null,
        worker_id: o.worker.id,
        reporter: o.reporter,
        reported_at: iso(Math.round(d.reported / 1000) * 1000),
        accepted_at: ts(f.accepted_at),
        verified_at: ts(f.verified_at),
        registered_at: ts(f.registered_at),
        dispatched_at: ts(f.dispatched_at),
        in_progress_at: ts(f.in_progress_at),
        handled_at: ts(f.handled_at),
        checked_at: ts(f.checked_at),
        closed_at: ts(f.closed_at),
        evaluated_at: ts(f.evaluated_at),
        deadline_at: f.dispatched_at !== null && o.deadline !== null ? iso(o.deadline) : null,
        stage_started_at: iso(stageStart),
        stage_deadline_at: ts(stageDue),
        overdue,
        rework_count: acts.filter((a) => a.action === 'check_fail').length,
        outcome: o.cancelled ? (f.closed_at !== null ? '核实不属实，注销' : null) : done ? (o.outcome ?? null) : null,
        satisfaction: stage === 'evaluated' ? (o.satisfaction ?? null) : null,
        x: d.at.x,
        y: d.at.y,
      },
    }
  }
}

// ─── worker tracks ──────────────────────────────────────────────────────────────────────────

interface Poly {
  xs: number[]
  ys: number[]
  cum: number[]
  len: number
}
interface Junction {
  poly: number
  s: number
}

/** A grid's walkable lines in local metres, with where each line end meets the others. */
class Network {
  polys: Poly[] = []
  ends: Junction[][][] = []
  constructor(
    readonly lon0: number,
    readonly lat0: number,
    geoms: unknown[],
  ) {
    const kx = 111_320 * Math.cos((lat0 * Math.PI) / 180)
    const ky = 110_900
    const lines: number[][][] = []
    const collect = (g: { type: string; coordinates?: unknown; geometries?: unknown[] } | null) => {
      if (!g) return
      if (g.type === 'LineString') lines.push(g.coordinates as number[][])
      else if (g.type === 'MultiLineString') lines.push(...(g.coordinates as number[][][]))
      else if (g.type === 'GeometryCollection') for (const x of g.geometries ?? []) collect(x as never)
    }
    for (const g of geoms) collect(g as never)
    for (const line of lines) {
      const xs = line.map((c) => (c[0] - lon0) * kx)
      const ys = line.map((c) => (c[1] - lat0) * ky)
      const cum = [0]
      for (let i = 1; i < xs.length; i++) cum.push(cum[i - 1] + Math.hypot(xs[i] - xs[i - 1], ys[i] - ys[i - 1]))
      if (cum[cum.length - 1] >= 3) this.polys.push({ xs, ys, cum, len: cum[cum.length - 1] })
    }
    // For each line end, the places on other lines within 12 m (junctions).
    for (let i = 0; i < this.polys.length; i++) {
      const p = this.polys[i]
      const out: Junction[][] = [[], []]
      for (const [e, k] of [[0, 0], [1, p.xs.length - 1]] as const) {
        for (let j = 0; j < this.polys.length; j++) {
          if (j === i) continue
          const near = this.nearest(this.polys[j], p.xs[k], p.ys[k])
          if (near.d < 12) out[e].push({ poly: j, s: near.s })
        }
      }
      this.ends.push(out)
    }
  }
  nearest(p: Poly, x: number, y: number): { d: number; s: number } {
    let best = { d: Infinity, s: 0 }
    for (let i = 1; i < p.xs.length; i++) {
      const ax = p.xs[i - 1]
      const ay = p.ys[i - 1]
      const dx = p.xs[i] - ax
      const dy = p.ys[i] - ay
      const l2 = dx * dx + dy * dy
      const u = l2 > 0 ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / l2)) : 0
      const d = Math.hypot(ax + u * dx - x, ay + u * dy - y)
      if (d < best.d) best = { d, s: p.cum[i - 1] + u * Math.sqrt(l2) }
    }
    return best
  }
  at(pi: number, s: number): { x: number; y: number } {
    const p = this.polys[pi]
    let lo = 1
    let hi = p.cum.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (p.cum[mid] < s) lo = mid + 1
      else hi = mid
    }
    const seg = p.cum[lo] - p.cum[lo - 1]
    const u = seg > 0 ? (s - p.cum[lo - 1]) / seg : 0
    return { x: p.xs[lo - 1] + u * (p.xs[lo] - p.xs[lo - 1]), y: p.ys[lo - 1] + u * (p.ys[lo] - p.ys[lo - 1]) }
  }
  toLonLat(x: number, y: number): Pt {
    return { x: r6(this.lon0 + x / (111_320 * Math.cos((this.lat0 * Math.PI) / 180))), y: r6(this.lat0 + y / 110_900) }
  }
}

class TrackMaker {
  private r: SeedRng
  private nets = new Map<string, Network>()
  constructor(private s: Seeder) {
    this.r = s.rng
  }

  async run(): Promise<void> {
    const s = this.s
    // Inset about 10 m: workers walk the pavements inside their grid (GPS noise stays within 6 m).
    const rows = await s.q<{ code: string; edge: string | null; lines: string | null }>('patrol_network', [0.0001])
    for (const row of rows) {
      const g = s.gridBy.get(row.code)!
      const geoms = [row.edge, row.lines].filter(Boolean).map((t) => JSON.parse(t!))
      this.nets.set(row.code, new Network(g.x, g.y, geoms))
    }
    // Grids too small for a network (slivers): workers stand at a few random spots inside.
    const bare = s.grids.filter((g) => !this.nets.get(g.code)?.polys.length)
    const spots = new Map<string, Pt[]>()
    ;(await s.pointsIn(bare.map((g) => ({ grid: g.code, count: 8 })))).forEach((ps, i) => spots.set(bare[i].code, ps))
    const today = s.clock.day(s.anchor)
    const payload: { w: number; t0: string; step: number; x: number[]; y: number[] }[] = []
    const live: { code: string; duty_status: string; last_seen: string | null; x: number | null; y: number | null }[] = []
    let fixes = 0
    for (const w of s.workers) {
      const bike = w.role === 'inspector' || this.r.chance(0.35)
      const speed = bike ? this.r.range(2.5, 4) : this.r.range(0.9, 1.3)
      const offset = this.r.int(0, FIX_SECONDS - 1) * 1000
      let last: { t: number; p: Pt } | null = null
      let leaveLastDay = false
      for (let k = TRACK_DAYS; k >= 1; k--) {
        const day = s.clock.day(today, -k)
        const weekend = s.clock.isoWeekday(day) >= 6
        const works = weekend ? this.r.chance(0.35) : !this.r.chance(0.04)
        if (!works) {
          if (k === 1 && !weekend) leaveLastDay = true
          continue
        }
        const gridCode = k === 1 ? w.patrol[0] : w.patrol[(TRACK_DAYS - k) % w.patrol.length]
        const grid = w.role === 'inspector' ? this.r.pick(w.patrol) : gridCode
        const net = this.nets.get(grid)
        const wall = s.clock.wall(day)
        const at = (h: number, m: number) => s.clock.at(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate(), h, m)
        const shifts: [number, number][] = [
          [at(8, 30) + this.r.int(0, 20) * MINUTE, at(11, 30) + this.r.int(0, 15) * MINUTE],
          [at(13, 30) + this.r.int(0, 15) * MINUTE, at(17, 30) + this.r.int(0, 30) * MINUTE],
        ]
        let walker = net && net.polys.length ? this.startWalker(net) : null
        for (const [a, b] of shifts) {
          const t0 = Math.ceil((a - offset) / (FIX_SECONDS * 1000)) * FIX_SECONDS * 1000 + offset
          const xs: number[] = []
          const ys: number[] = []
          let pause = 0
          let spot: Pt | null = null
          for (let t = t0; t <= b; t += FIX_SECONDS * 1000) {
            let p: Pt
            if (walker && net) {
              if (pause > 0) pause--
              else if (this.r.chance(0.04)) pause = this.r.int(3, 12)
              else this.advance(net, walker, speed * FIX_SECONDS * this.r.range(0.7, 1.2))
              const q = net.at(walker.poly, walker.s)
              const nx = Math.max(-4, Math.min(4, this.r.normal() * 1.5))
              const ny = Math.max(-4, Math.min(4, this.r.normal() * 1.5))
              p = net.toLonLat(q.x + nx, q.y + ny)
            } else {
              const ps = spots.get(grid) ?? []
              if (!spot || this.r.chance(0.1)) spot = ps.length ? this.r.pick(ps) : s.gridBy.get(grid)!
              p = spot
            }
            xs.push(p.x)
            ys.push(p.y)
            last = { t, p }
          }
          if (xs.length) payload.push({ w: w.id!, t0: iso(t0), step: FIX_SECONDS, x: xs, y: ys })
          fixes += xs.length
          if (walker && net && this.r.chance(0.3)) walker = this.startWalker(net)
        }
      }
      const duty = leaveLastDay || !last ? 'leave' : this.r.table({ on_duty: 72, busy: 12, off_duty: 16 })
      live.push({ code: w.code, duty_status: duty, last_seen: last ? iso(last.t) : null, x: last?.p.x ?? null, y: last?.p.y ?? null })
    }
    await s.insert('insert_positions', payload, 300)
    await s.q('update_workers', [JSON.stringify(live)])
    s.counts.worker_positions = fixes
  }

  private startWalker(net: Network): { poly: number; s: number; dir: number } {
    const total = net.polys.reduce((a, p) => a + p.len, 0)
    let x = this.r.u() * total
    let poly = 0
    while (poly < net.polys.length - 1 && x > net.polys[poly].len) x -= net.polys[poly++].len
    return { poly, s: Math.min(x, net.polys[poly].len), dir: this.r.chance(0.5) ? 1 : -1 }
  }

  private advance(net: Network, w: { poly: number; s: number; dir: number }, dist: number): void {
    if (this.r.chance(0.02)) w.dir = -w.dir
    for (let guard = 0; dist > 0 && guard < 50; guard++) {
      const p = net.polys[w.poly]
      const room = w.dir > 0 ? p.len - w.s : w.s
      if (dist < room) {
        w.s += w.dir * dist
        return
      }
      dist -= room
      w.s = w.dir > 0 ? p.len : 0
      const options = net.ends[w.poly][w.dir > 0 ? 1 : 0]
      if (options.length && this.r.chance(0.9)) {
        const j = this.r.pick(options)
        const q = net.polys[j.poly]
        w.poly = j.poly
        w.s = j.s
        w.dir = j.s < 1 ? 1 : j.s > q.len - 1 ? -1 : this.r.chance(0.5) ? 1 : -1
      } else w.dir = -w.dir
    }
  }
}

// ─── entry point ────────────────────────────────────────────────────────────────────────────

/** The anchor for a first start: 00:00 of the day of `now` in the time zone `tz`. */
export function localMidnight(now: Date, tz: string): Date {
  return new Date(zoneClock(tz).day(now.getTime()))
}

/**
 * Seeds the objects once (a database that already has departments is left alone) and returns
 * the row count of every table it filled. Runs in one transaction: all or nothing.
 */
export async function seedObjects(db: Db, opts: SeedOptions): Promise<Record<string, number>> {
  const log = opts.log ?? (() => {})
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7142004)')
    const s = new Seeder(tx, opts)
    const [{ n }] = await s.q<{ n: number }>('already_seeded')
    if (n > 0) {
      log('objects: already seeded')
      return {}
    }
    const started = Date.now()
    let t = started
    const step = async (what: string, fn: () => Promise<void>, table?: string[]) => {
      await fn()
      const counts = (table ?? []).map((k) => `${k} ${s.counts[k] ?? 0}`).join(', ')
      log(`objects: ${what}${counts ? ` — ${counts}` : ''} (${Date.now() - t} ms)`)
      t = Date.now()
    }
    s.loadPois()
    await step('reference data', () => s.reference(), ['departments', 'part_classes', 'case_categories'])
    await step('party branches and grid teams', () => s.teamsStep(), ['party_branches', 'workers', 'grid_team'])
    await step('lines', () => s.lines())
    await step('parts', () => s.partsStep(), ['parts'])
    await step('key places and organizations', () => s.placesStep(), ['key_places', 'organizations'])
    await step('sensors and readings', () => s.sensorsStep(), ['sensors', 'sensor_readings'])
    await step('cameras', () => s.camerasStep(), ['cameras'])
    await step('houses and people', () => s.housesStep(), ['houses', 'people'])
    await step('cases and actions', () => s.casesStep(), ['cases', 'case_actions'])
    await step('worker tracks', () => s.tracksStep(), ['worker_positions'])
    await step('grid codes', () => s.gridCodes())
    const [counts] = await s.q<Record<string, number>>('counts')
    log(`objects: done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    return counts
  })
}
