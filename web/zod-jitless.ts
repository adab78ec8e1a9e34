/**
 * The schemas the web shares with the server (server/realtime/events.ts, server/spatial/params.ts)
 * use zod, which probes `new Function('')` to compile fast parsers. Our Content-Security-Policy
 * has no 'unsafe-eval', so the probe is a CSP violation on every page. Zod reads its settings from
 * `globalThis.__zod_globalConfig` when a schema is defined: jitless before any of them loads
 * (this module is main.ts's first import) and it never probes.
 */
const g = globalThis as { __zod_globalConfig?: { jitless?: boolean } }
g.__zod_globalConfig = { ...g.__zod_globalConfig, jitless: true }
export {}
