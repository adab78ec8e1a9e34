import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { projectRoot } from './config.ts'

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs)
  }
  return newest
}

/**
 * Builds the web app into dist/web when it is missing or older than its sources (web/,
 * layers/ and styles/, which it imports, and vite.config.ts). Returns false when the build failed (vite printed why).
 */
export function ensureWebBuilt(log: (msg: string) => void = console.log): boolean {
  const index = path.join(projectRoot, 'dist', 'web', 'index.html')
  const sources = ['web', 'layers', 'styles'].map((d) => path.join(projectRoot, d))
  const built = fs.existsSync(index) ? fs.statSync(index).mtimeMs : 0
  const stale =
    !built || sources.some((d) => newestMtime(d) > built) || fs.statSync(path.join(projectRoot, 'vite.config.ts')).mtimeMs > built
  if (!stale) return true
  log('  Building the web app (first start, or its sources changed)…')
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: projectRoot,
    stdio: 'inherit',
  })
  return r.status === 0
}
