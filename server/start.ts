/**
 * `npm start`: builds the web app when it is missing or older than its sources, then runs
 * the server (server/main.ts). Nothing here needs the network.
 */
import { ensureWebBuilt } from './build-web.ts'
import { main } from './main.ts'

if (!process.env.ONEGRID_WEB_DIR && !ensureWebBuilt()) {
  console.error('onegrid: building the web app failed (see above); run `npm install` and try again')
  process.exit(1)
}
await main()
