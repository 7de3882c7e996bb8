/**
 * Bus topics (dot-separated; see bus.ts). Ids are restricted to
 * [a-z0-9-] by the contracts, so they are always a single topic word.
 */
export const Topics = {
  update: (experimentId: string, hospital: string) => `update.${experimentId}.${hospital}`,
  allUpdates: 'update.#',
  error: (experimentId: string, hospital: string) => `error.${experimentId}.${hospital}`,
  allErrors: 'error.#',
  progress: (experimentId: string) => `progress.${experimentId}`,
  model: (experimentId: string) => `model.${experimentId}`,
  status: (hospital: string) => `status.${hospital}`,
  /** Secure aggregation, hospital → aggregator. */
  secaggUp: (experimentId: string, hospital: string) => `secagg-up.${experimentId}.${hospital}`,
  allSecaggUp: 'secagg-up.#',
  /** Secure aggregation, aggregator → one hospital. */
  secaggDown: (experimentId: string, hospital: string) => `secagg-down.${experimentId}.${hospital}`,
  secaggDownFor: (hospital: string) => `secagg-down.*.${hospital}`,
  allStatus: 'status.*',
} as const;
