/** The demo data every test server has: fixed seed and anchor, one password for all demo users. */
export const TEST_PASSWORD = 'password'
export const TEST_SEED = 1
export const TEST_ANCHOR = '2026-11-01'
