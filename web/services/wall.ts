/**
 * Client of the wall's summary (GET /api/wall/summary, server/wall/summary.ts): every number the
 * wall's panels show, in one answer within the signed-in user's scope.
 */
import { apiFetch } from './http.ts'

import type { WallCount, WallRates, WallSensorType, WallSummary, WallTopGrid } from '../../server/wall/types.ts'

// The shapes the server sends, from the server's own declarations.
export type { WallCount, WallRates, WallSensorType, WallSummary, WallTopGrid }

export function fetchWallSummary(init: RequestInit = {}): Promise<WallSummary> {
  return apiFetch<WallSummary>('/api/wall/summary', init)
}
