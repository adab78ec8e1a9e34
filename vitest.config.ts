import { defineConfig } from 'vitest/config'

// unit: pure modules; integration: the real server on PGlite and (TEST_DATABASE_URL) PostGIS;
// e2e: real Chromium against the real server. Files run one at a time: two cores, and each
// integration file boots its own database.
export default defineConfig({
  test: {
    fileParallelism: false,
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['tests/integration/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], testTimeout: 240_000 } },
    ],
  },
})
