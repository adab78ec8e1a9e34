// First: zod must not probe eval under our CSP (see the module).
import './zod-jitless.ts'
// Library CSS first, our own after it: MapLibre's `.maplibregl-map { position: relative }`
// must not override the explicit sizing of our map containers.
import 'maplibre-gl/dist/maplibre-gl.css'
import './css/base.css'

import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router/index.ts'

const app = createApp(App)
app.use(createPinia())
app.use(router)
app.mount('#app')
