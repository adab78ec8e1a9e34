import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import {
  fetchImportLayers,
  fetchStats,
  formatOf,
  ImportRejectedError,
  uploadImport,
  type AdminStats,
  type ImportCrs,
  type ImportLayerInfo,
  type ImportPhase,
  type ImportProgressPayload,
  type ImportResult,
} from '../services/admin.ts'
import { ApiError } from '../services/http.ts'

export type ImportStatus = 'idle' | 'running' | 'done' | 'rejected' | 'failed'

/** The admin page's data import: layer and CRS chosen, the running import's progress, its report, the stats. */
export const useImportStore = defineStore('import', () => {
  const layers = ref<ImportLayerInfo[]>([])
  const maxBytes = ref(0)
  const layersError = ref<string | null>(null)
  const layerId = ref<string>('')
  const crs = ref<ImportCrs>('wgs84')

  const status = ref<ImportStatus>('idle')
  const importId = ref<string | null>(null)
  const fileName = ref<string | null>(null)
  const progress = ref<{ phase: ImportPhase; done: number; total: number } | null>(null)
  const report = ref<ImportResult | null>(null)
  /** The server's message when the import failed or was rejected. */
  const message = ref<string | null>(null)

  const stats = ref<AdminStats | null>(null)
  const statsLoading = ref(false)
  const statsError = ref<string | null>(null)

  const layer = computed(() => layers.value.find((l) => l.id === layerId.value) ?? null)

  const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))

  async function loadLayers(): Promise<void> {
    try {
      const r = await fetchImportLayers()
      layers.value = r.layers
      maxBytes.value = r.maxBytes
      layersError.value = null
      if (!layers.value.some((l) => l.id === layerId.value)) layerId.value = layers.value[0]?.id ?? ''
    } catch (e) {
      layersError.value = errorText(e)
    }
  }

  async function loadStats(): Promise<void> {
    statsLoading.value = true
    try {
      stats.value = await fetchStats()
      statsError.value = null
    } catch (e) {
      statsError.value = errorText(e)
    } finally {
      statsLoading.value = false
    }
  }

  /** Progress events of our own import (the id we sent); others are ignored. */
  function onProgress(p: ImportProgressPayload): void {
    if (p.importId !== importId.value || status.value !== 'running') return
    progress.value = { phase: p.phase, done: p.done, total: p.total }
  }

  async function start(file: File): Promise<void> {
    if (status.value === 'running' || !layer.value) return
    // crypto.randomUUID needs a secure context; a hall's LAN address over http is not one.
    const id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')
    importId.value = id
    fileName.value = file.name
    status.value = 'running'
    progress.value = { phase: 'receive', done: 0, total: file.size }
    report.value = null
    message.value = null
    try {
      report.value = await uploadImport({ layer: layer.value.id, file, format: formatOf(file), crs: crs.value, importId: id })
      status.value = 'done'
      progress.value = { phase: 'done', done: report.value.total, total: report.value.total }
      void loadStats()
    } catch (e) {
      if (e instanceof ImportRejectedError) {
        report.value = e.report
        status.value = 'rejected'
        progress.value = { phase: 'failed', done: e.report.total, total: e.report.total }
      } else {
        status.value = 'failed'
        progress.value = progress.value ? { ...progress.value, phase: 'failed' } : null
      }
      message.value = e instanceof ApiError ? e.message : errorText(e)
    }
  }

  return {
    layers,
    maxBytes,
    layersError,
    layerId,
    crs,
    layer,
    status,
    importId,
    fileName,
    progress,
    report,
    message,
    stats,
    statsLoading,
    statsError,
    loadLayers,
    loadStats,
    onProgress,
    start,
  }
})
