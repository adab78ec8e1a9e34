/**
 * Bad configuration at start: one clear line naming the problem and what to do, exit code ≠ 0,
 * no stack trace as the only message.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { projectRoot } from '../../server/config.ts'

const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx')

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(tsx, [path.join(projectRoot, 'server', 'main.ts')], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ONEGRID_DATA_DIR: 'memory://', ONEGRID_SEED_PASSWORD: 'password', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    let stdout = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.on('data', (d) => (stdout += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr, stdout })
    })
  })
}

function expectOneClearLine(r: { code: number | null; stderr: string }, message: RegExp) {
  expect(r.code).not.toBe(0)
  expect(r.code).not.toBeNull()
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('onegrid: '))
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(message)
  expect(r.stderr).not.toMatch(/^\s+at /m)
}

describe('start-up failures', () => {
  it('a DATABASE_URL nobody answers at', async () => {
    const r = await run({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing', PORT: '0' })
    expectOneClearLine(r, /cannot connect to the database in DATABASE_URL \(127\.0\.0\.1:1\/nothing\).*check that PostgreSQL is running/)
  })

  it('a DATABASE_URL that is not a postgres URL', async () => {
    const r = await run({ DATABASE_URL: 'mysql://x@y/z' })
    expectOneClearLine(r, /DATABASE_URL must start with postgres:\/\//)
  })

  it('an unwritable data folder', async () => {
    // Tests may run as root, which ignores permission bits: a folder under a plain file can never be made.
    const file = path.join(os.tmpdir(), `onegrid-not-a-folder-${process.pid}`)
    fs.writeFileSync(file, '')
    try {
      const r = await run({ ONEGRID_DATA_DIR: path.join(file, 'data') })
      expectOneClearLine(r, /data folder .*onegrid-not-a-folder-\d+\/data is not writable.*set ONEGRID_DATA_DIR/)
    } finally {
      fs.rmSync(file)
    }
  })

  it('a port that is not a number', async () => {
    const r = await run({ PORT: 'eighty' })
    expectOneClearLine(r, /Invalid configuration: PORT/)
  })

  describe('a port in use', () => {
    let blocker: net.Server
    let port: number
    beforeAll(async () => {
      blocker = net.createServer()
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
      port = (blocker.address() as net.AddressInfo).port
    })
    afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
    it('says so and names PORT', async () => {
      // Before the database is opened: an empty in-memory one would be seeded for a minute first.
      const t = Date.now()
      const r = await run({ PORT: String(port), HOST: '127.0.0.1' })
      console.log(`[startup] a taken port was reported after ${Date.now() - t} ms`)
      expectOneClearLine(r, new RegExp(`port ${port} is already in use.*set PORT`))
    })
  })

  const url = process.env.TEST_DATABASE_URL
  describe.skipIf(!url)('a server without PostGIS', () => {
    // A role that may not create the (untrusted) postgis extension in a fresh database.
    const db = `onegrid_nopostgis_${process.pid}`
    let admin: pg.Client
    beforeAll(async () => {
      admin = new pg.Client({ connectionString: url })
      await admin.connect()
      await admin.query(`DROP DATABASE IF EXISTS ${db}`)
      await admin.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'onegrid_plain') THEN CREATE ROLE onegrid_plain LOGIN; END IF; END $$`)
      await admin.query(`CREATE DATABASE ${db} OWNER onegrid_plain`)
    })
    afterAll(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${db}`)
      await admin.end()
    })
    it('says PostGIS is missing and how to install it', async () => {
      const u = new URL(url!)
      u.username = 'onegrid_plain'
      u.password = ''
      u.pathname = `/${db}`
      const r = await run({ DATABASE_URL: u.toString() })
      expectOneClearLine(r, /has no PostGIS.*install PostGIS/)
    })
  })
})
