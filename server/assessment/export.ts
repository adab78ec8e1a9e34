/**
 * The cockpit's tables as files: CSV (UTF-8 with a BOM, so Excel reads Chinese names) and XLSX
 * (exceljs). A table is columns (a stable key and a header that also says it in Chinese) and rows;
 * the XLSX has a second sheet with what the table is (period, area, rule).
 */
import { stringify } from 'csv-stringify/sync'
import ExcelJS from 'exceljs'
import type { Indicators } from '../stats/indicators.ts'
import type { Assessment } from './service.ts'
import { SCORABLE } from './score.ts'

export type Cell = string | number | boolean | null
export interface Table {
  /** Base of the file name, ASCII. */
  name: string
  sheet: string
  columns: { key: string; header: string }[]
  rows: Record<string, Cell>[]
  /** Label–value pairs for the XLSX's second sheet. */
  about: [string, Cell][]
}

const LABELS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(SCORABLE).map(([k, v]) => [k, v.label])),
  reported: '上报数',
  pending: '待立案',
  merged: '合并',
  handlingTime: '平均处置时长',
  open: '在办案件',
  sensorAvailability: '传感器在线率',
  cameraAvailability: '摄像头在线率',
  workersOnDuty: '在岗率',
  patrolCoverage: '巡查覆盖率',
}
const KIND_LABELS: Record<string, string> = { district: '区', street: '街道', community: '社区', department: '部门', worker: '网格员', grid: '网格', none: '合计' }

/** The last local day of a period whose end `to` (an ISO time with offset) is excluded. */
function lastDay(to: string): string {
  const day = to.slice(0, 10)
  if (!/T00:00:00(\.0+)?([+-]|Z)/.test(to)) return day
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() - 1)
  return d.toISOString().slice(0, 10)
}
const span = (from: string, to: string) => `${from.slice(0, 10).replace(/-/g, '')}-${lastDay(to).replace(/-/g, '')}`

export function assessmentTable(a: Assessment): Table {
  const columns = [
    { key: 'rank', header: '排名 rank' },
    { key: 'code', header: '代码 code' },
    { key: 'name', header: '名称 name' },
    { key: 'score', header: '得分 score' },
    { key: 'grade', header: '等级 grade' },
  ]
  for (const i of a.rule.indicators) {
    columns.push(
      { key: `${i.indicator}.rate`, header: `${i.label} ${i.indicator}.rate` },
      { key: `${i.indicator}.earned`, header: `${i.label}得分 ${i.indicator}.earned` },
      { key: `${i.indicator}.lost`, header: `${i.label}扣分 ${i.indicator}.lost` },
    )
  }
  const rows = a.rows.map((r) => {
    const row: Record<string, Cell> = { rank: r.rank, code: r.code, name: r.name, score: r.score, grade: r.grade }
    for (const c of r.components) Object.assign(row, { [`${c.indicator}.rate`]: c.rate, [`${c.indicator}.earned`]: c.earned, [`${c.indicator}.lost`]: c.lost })
    return row
  })
  return {
    name: `assessment-${a.kind}${a.code ? `-${a.code}` : ''}-${span(a.from, a.to)}`,
    sheet: `考核 ${a.kind}`,
    columns,
    rows,
    about: [
      ['考核对象 kind', `${KIND_LABELS[a.kind] ?? ''} ${a.kind}`],
      ['起 from', a.from],
      ['止(不含) to', a.to],
      ['时区 tz', a.tz],
      ['区域 code', a.code],
      ['计算时间 asOf', a.asOf],
      ['规则版本 rule version', a.rule.version],
      ['规则修改 rule updated', `${a.rule.updatedAt}${a.rule.updatedBy ? ` ${a.rule.updatedBy}` : ''}`],
      ...a.rule.indicators.map((i): [string, Cell] => [`权重 ${i.label} ${i.indicator}${i.better === 'lower' ? ' (越低越好 lower is better)' : ''}`, i.weight]),
      ...Object.entries(a.rule.bands).map(([g, min]): [string, Cell] => [`等级 ${g} ≥`, min]),
    ],
  }
}

type Flat = Record<string, Cell>
/** An object's leaves by dotted path, arrays as JSON. */
function flatten(v: unknown, prefix: string, out: Flat): Flat {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out)
  } else {
    out[prefix] = Array.isArray(v) ? JSON.stringify(v) : (v as Cell) ?? null
  }
  return out
}

/**
 * GET /api/stats/indicators as a table: its rows, then the total, then with compare=previous the
 * previous period's total (`row`: unit, total, previous). A figure that is an object in some rows
 * and null in others (e.g. sensorAvailability in department rows) has the object's columns only.
 */
export function indicatorsTable(ind: Indicators & { previous?: { from: string; to: string; total: object } }): Table {
  const rows = [...ind.rows.map((r) => flatten(r, '', { row: 'unit' })), flatten(ind.total, '', { row: 'total' })]
  if (ind.previous) rows.push(flatten(ind.previous.total, '', { row: 'previous' }))
  const keys: string[] = []
  const seen = new Set<string>()
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (seen.has(k)) continue
      seen.add(k)
      keys.push(k)
    }
  }
  const parents = new Set(keys.flatMap((k) => k.split('.').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('.'))))
  const columns = keys.filter((k) => !(parents.has(k) && rows.every((r) => r[k] === null || r[k] === undefined)))
  const header = (k: string) => {
    if (k === 'row') return '行 row'
    if (k === 'code') return '代码 code'
    if (k === 'name') return '名称 name'
    const label = LABELS[k.split('.')[0]]
    return label ? `${label} ${k}` : k
  }
  return {
    name: `indicators-${ind.groupBy}${ind.code ? `-${ind.code}` : ''}-${span(ind.from, ind.to)}`,
    sheet: `指标 ${ind.groupBy}`,
    columns: columns.map((key) => ({ key, header: header(key) })),
    rows,
    about: [
      ['分组 groupBy', `${KIND_LABELS[ind.groupBy] ?? ''} ${ind.groupBy}`],
      ['起 from', ind.from],
      ['止(不含) to', ind.to],
      ['时区 tz', ind.tz],
      ['区域 code', ind.code],
      ['计算时间 asOf', ind.asOf],
      ...(ind.previous ? ([['上期 previous from', ind.previous.from], ['上期 previous to', ind.previous.to]] as [string, Cell][]) : []),
    ],
  }
}

/** A text cell that a spreadsheet would run as a formula is written with a leading apostrophe (CSV only). */
const defuse = (v: Cell): Cell => (typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v)

export function toCsv(t: Table): string {
  return stringify(
    t.rows.map((r) => t.columns.map((c) => defuse(r[c.key] ?? null))),
    { bom: true, header: true, columns: t.columns.map((c) => c.header), cast: { boolean: (b) => (b ? 'true' : 'false') } },
  )
}

export async function toXlsx(t: Table): Promise<Buffer> {
  const wb = new ExcelJS.Workbook()
  wb.creator = 'OneGrid'
  const ws = wb.addWorksheet(sheetName(t.sheet), { views: [{ state: 'frozen', ySplit: 1 }] })
  ws.columns = t.columns.map((c) => ({ header: c.header, key: c.key, width: Math.min(40, Math.max(10, c.header.length + 2)) }))
  ws.getRow(1).font = { bold: true }
  for (const r of t.rows) ws.addRow(t.columns.map((c) => r[c.key] ?? null))
  const about = wb.addWorksheet('说明 about')
  about.columns = [
    { header: '项 item', key: 'k', width: 40 },
    { header: '值 value', key: 'v', width: 40 },
  ]
  about.getRow(1).font = { bold: true }
  for (const [k, v] of t.about) about.addRow([k, v])
  return Buffer.from(await wb.xlsx.writeBuffer())
}

/** Excel's limits on sheet names: 31 characters, none of []:*?/\. */
const sheetName = (s: string) => s.replace(/[[\]:*?/\\]/g, ' ').slice(0, 31)

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
