/** The demo data every test server has: fixed seed and anchor, one password for all demo users. */
export const TEST_PASSWORD = 'password'
export const TEST_SEED = 1
export const TEST_ANCHOR = '2026-11-01'
/** The demo city's time zone: the server's default ONEGRID_TZ, which test servers keep. */
export const TEST_TZ = 'Asia/Shanghai'
