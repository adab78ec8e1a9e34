export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Polls `check` until it holds; throws naming `what` after `ms`. Returns how long it took (tests
 * print it as an observed latency, never assert on it).
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000, pollMs = 25): Promise<number> {
  const start = Date.now()
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(pollMs)
  }
  return Date.now() - start
}
