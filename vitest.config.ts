import { defineConfig } from 'vitest/config'

// unit: pure modules; integration: the real server on PGlite and (TEST_DATABASE_URL) PostGIS;
// e2e: real Chromium against the real server. The groups run one after another (groupOrder):
//
// 0. unit, two files at a time, without a fresh module graph per file (isolate: false — loading
//    the modules again was two thirds of their time), so a unit test must not count on module
//    state another file may have left (vi.resetModules()).
// 1. integration, two files at a time (two cores): each worker has its own copy of the seeded
//    PostGIS database (tests/helpers/shared-db.ts, worker-db.ts) and every embedded server its own
//    copy of the template, so files do not see each other's writes.
// 2. integration-serial, one file at a time: the files that use the machine's one MQTT broker
//    (MQTT_URL; a server subscribes to the same topics whatever its database, so another file's
//    server would take in this file's readings) or Redis.
// 3. e2e, one file at a time: two at a time starved each other's browsers (SwiftShader takes both
//    cores; a cockpit's socket missed its connect in CI).
// 4. e2e-serial: the end-to-end file that uses the MQTT broker.
const serial = [
  'tests/integration/alarm-rules.test.ts',
  'tests/integration/broker.test.ts',
  'tests/integration/crash.test.ts',
  'tests/integration/mqtt-alarm.test.ts',
  'tests/integration/scale-out.test.ts',
  'tests/integration/screens.test.ts',
  'tests/integration/simulator.test.ts',
  'tests/integration/telemetry.test.ts',
]
const serialE2e = ['tests/e2e/wall-live.e2e.test.ts']
const servers = { setupFiles: ['tests/helpers/worker-db.ts'] }

export default defineConfig({
  test: {
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], maxWorkers: 2, isolate: false, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'integration', include: ['tests/integration/**/*.test.ts'], exclude: serial, maxWorkers: 2, sequence: { groupOrder: 1 }, ...servers } },
      { extends: true, test: { name: 'integration-serial', include: serial, maxWorkers: 1, sequence: { groupOrder: 2 }, ...servers } },
      { extends: true, test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], exclude: serialE2e, testTimeout: 240_000, maxWorkers: 1, sequence: { groupOrder: 3 }, ...servers } },
      { extends: true, test: { name: 'e2e-serial', include: serialE2e, testTimeout: 240_000, maxWorkers: 1, sequence: { groupOrder: 4 }, ...servers } },
    ],
  },
})
