import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

/** Where the OneGrid server listens during `vite` dev (override with ONEGRID_API_ORIGIN). */
const apiOrigin = process.env.ONEGRID_API_ORIGIN ?? 'http://127.0.0.1:8080'

export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  publicDir: fileURLToPath(new URL('./web/public', import.meta.url)),
  plugins: [vue()],
  server: {
    host: '127.0.0.1',
    // Server routes. Note: web/ must not have top-level folders with these names (dev would
    // proxy the source modules to the server) — hence web/services and web/css.
    proxy: {
      '/api': { target: apiOrigin, changeOrigin: false },
      '/tiles': { target: apiOrigin, changeOrigin: false },
      '/styles': { target: apiOrigin, changeOrigin: false },
      // Cesium's prebuilt library (server/http/cesium.ts), loaded at run time by the 3D city view.
      '/cesium': { target: apiOrigin, changeOrigin: false },
      '/socket.io': { target: apiOrigin, ws: true, changeOrigin: false },
    },
  },
  preview: {
    host: '127.0.0.1',
  },
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // maplibre-gl (~1 MB) and deck.gl/luma.gl (~1 MB) are big by nature; they live in their own
    // lazily loaded chunks (only map faces need them), so warn only above that.
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            // Vite's own helpers (module preload) are needed by the entry: keep them out of the
            // lazily loaded map chunks, which would otherwise drag those chunks into every page.
            { name: 'runtime', test: /vite[\\/](preload-helper|modulepreload-polyfill)/, priority: 40 },
            // JS only: maplibre-gl.css is imported by main.ts and belongs in the entry's CSS.
            { name: 'maplibre', test: /node_modules[\\/]maplibre-gl[\\/].*\.js$/, priority: 30 },
            {
              name: 'deckgl',
              test: /node_modules[\\/](@deck\.gl|@luma\.gl|@math\.gl|@loaders\.gl|@probe\.gl|mjolnir\.js|gl-matrix)[\\/]/,
              priority: 20,
            },
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender)[\\/]/, priority: 20 },
            {
              name: 'vendor',
              test: /node_modules[\\/](@vue|vue|vue-router|pinia|socket\.io-client|engine\.io-client|socket\.io-parser|engine\.io-parser|@socket\.io)[\\/]/,
              priority: 10,
            },
          ],
        },
      },
    },
  },
})
