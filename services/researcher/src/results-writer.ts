import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RedisBlobStore } from '@fedpet/shared/blob/redis-blob-store';
import type { BlobRef } from '@fedpet/shared/contracts/common';

export interface WrittenResults {
  resultsPath: string;
  modelDirectory: string | undefined;
  results: ExperimentResults;
}

/** The parts of results.json the CLI reads back (the aggregator writes the whole). */
export interface ExperimentResults {
  experimentId: string;
  status: 'completed' | 'failed';
  error?: { code: string; reason: string };
  durationMs?: number;
  rounds: {
    round: number;
    metrics: Record<string, number>;
    hospitals: { hospital: string; status: string }[];
  }[];
  finalEvaluation?: { metrics: Record<string, number> } | null;
  model?: { modelJson: BlobRef; weights: BlobRef; parameterCount: number } | null;
  /** Exact Cox experiments: the fitted model instead of a network. */
  coxModel?: {
    method: string;
    ties: string;
    covariates: string[];
    beta: number[];
    se: number[];
    hr: number[];
    ci95: [number, number][];
    pValues: number[];
    logLikInitial: number;
    logLik: number;
    iterations: number;
    converged: boolean;
  };
}

async function writeAtomically(path: string, data: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

/**
 * Fetches results.json and the trained model (tfjs layers format:
 * model.json + weights.bin) from the blob store, each verified by SHA-256,
 * and writes them under `outDirectory`.
 */
export async function writeResults(
  blobs: RedisBlobStore,
  resultsRef: BlobRef,
  outDirectory: string,
): Promise<WrittenResults> {
  await mkdir(outDirectory, { recursive: true });
  const resultsBytes = await blobs.get(resultsRef);
  const results = JSON.parse(resultsBytes.toString('utf8')) as ExperimentResults;
  const resultsPath = join(outDirectory, 'results.json');
  await writeAtomically(resultsPath, resultsBytes);
  if (!results.model) return { resultsPath, modelDirectory: undefined, results };
  const modelDirectory = join(outDirectory, 'model');
  await mkdir(modelDirectory, { recursive: true });
  // weights first: a model.json present means a complete model
  await writeAtomically(join(modelDirectory, 'weights.bin'), await blobs.get(results.model.weights));
  await writeAtomically(join(modelDirectory, 'model.json'), await blobs.get(results.model.modelJson));
  return { resultsPath, modelDirectory, results };
}
