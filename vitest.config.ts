import { defineConfig } from 'vitest/config'

// unit: pure modules; integration: the real server on PGlite and (TEST_DATABASE_URL) PostGIS;
// e2e: real Chromium against the real server. Integration and e2e files run one at a time: two
// cores, and they share the PostGIS database of TEST_DATABASE_URL. Unit files share nothing, so
// they run first, two at a time (their own group, ahead of the sequential files), while global
// setup's background seeding of the shared database mostly waits on PostGIS; and without a fresh
// module graph per file (isolate: false — loading the modules again was two thirds of their time),
// so a unit test must not count on module state another file may have left (vi.resetModules()).
export default defineConfig({
  test: {
    fileParallelism: false,
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], fileParallelism: true, maxWorkers: 2, isolate: false } },
      { extends: true, test: { name: 'integration', include: ['tests/integration/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], testTimeout: 240_000 } },
    ],
  },
})
