import type { RedisBlobStore } from '@fedpet/shared/blob/redis-blob-store';
import type { BlobRef } from '@fedpet/shared/contracts/common';
import type { ExperimentResultRef } from '@fedpet/shared/contracts/jobs';
import type { Redis } from 'ioredis';
import type { RoundRecord } from './experiment-runner.ts';
import type { StoredUpdateMeta, UpdateStore } from './round-collector.ts';

/**
 * An experiment's state as the aggregator last stored it: enough for a
 * restarted aggregator to resume at the round it was in, and for a
 * researcher to restart from any finished round (a breakpoint).
 */
export interface ExperimentCheckpoint {
  v: 1;
  experimentId: string;
  status: 'running' | 'completed' | 'failed';
  startedAt: string;
  /** models[r]: the global model after training round r; models[0] the initial one. */
  models: BlobRef[];
  /** Finished rounds (training, then the final evaluation). */
  rounds: RoundRecord[];
  /** The round in progress, from the moment its jobs may have been posted. */
  current?: { round: number; attempt: number; kind: 'train' | 'evaluate'; openedAt: string };
  /** Rounds each hospital failed or was late for (maxFailuresPerHospital). */
  failures: Record<string, number>;
  /** Hospitals no longer asked, in the order they were excluded. */
  excluded: string[];
  /** Times a restarted aggregator picked the experiment up. */
  resumes: number;
  counters: ReliabilityCounters;
  result?: ExperimentResultRef;
}

/** Summed over every run of the experiment (results.json `reliability`). */
export interface ReliabilityCounters {
  /** Copies of updates already counted (redeliveries, retried jobs, duplicates), ignored. */
  duplicatesIgnored: number;
  /** Updates rejected before they touched the aggregate (bad chunk, shape, NaN, norm). */
  rejectedUpdates: number;
  /** Messages for a round that was already closed (late updates), acknowledged and dropped. */
  lateMessages: number;
  /** Messages of an earlier attempt of a restarted round, ignored. */
  staleAttemptMessages: number;
}

export function emptyCounters(): ReliabilityCounters {
  return { duplicatesIgnored: 0, rejectedUpdates: 0, lateMessages: 0, staleAttemptMessages: 0 };
}

/**
 * Checkpoints in Redis, beside the queues (the same Redis keeps its data
 * across restarts in production: AOF or RDB). One JSON value per experiment,
 * written whole after each step, and one hash per open round whose fields
 * are the hospitals whose complete update is stored (the bytes themselves
 * are content-addressed blobs). Keys carry experiment and hospital ids, as
 * BullMQ's job ids do, never patient data.
 */
export class CheckpointStore {
  constructor(
    private readonly redis: Redis,
    private readonly blobs: RedisBlobStore,
    private readonly namespace: string,
  ) {}

  private key(experimentId: string): string {
    return `${this.namespace}:checkpoint:${experimentId}`;
  }

  private updatesKey(experimentId: string, round: number): string {
    return `${this.key(experimentId)}:round:${round}:updates`;
  }

  async load(experimentId: string): Promise<ExperimentCheckpoint | undefined> {
    const raw = await this.redis.get(this.key(experimentId));
    return raw === null ? undefined : (JSON.parse(raw) as ExperimentCheckpoint);
  }

  async save(checkpoint: ExperimentCheckpoint): Promise<void> {
    await this.redis.set(this.key(checkpoint.experimentId), JSON.stringify(checkpoint));
  }

  /** The complete updates stored for a round, by hospital. */
  async storedUpdates(
    experimentId: string,
    round: number,
  ): Promise<Map<string, StoredUpdateMeta & { blob: BlobRef }>> {
    const fields = await this.redis.hgetall(this.updatesKey(experimentId, round));
    return new Map(Object.entries(fields).map(([hospital, json]) => [hospital, JSON.parse(json)]));
  }

  /** Where one round's updates are kept: the bytes as a blob, then the hash field that counts them. */
  roundStore(experimentId: string, round: number): UpdateStore {
    const key = this.updatesKey(experimentId, round);
    return {
      save: async (meta, bytes) => {
        const blob = await this.blobs.put(bytes);
        // HSETNX: a second update of the same hospital (a retried job) never replaces the first.
        const added = await this.redis.hsetnx(key, meta.hospital, JSON.stringify({ ...meta, blob }));
        return added === 1 ? 'stored' : 'duplicate';
      },
      load: async (hospital) => {
        const json = await this.redis.hget(key, hospital);
        if (json === null) throw new Error(`no stored update of ${hospital} for round ${round}`);
        return this.blobs.get((JSON.parse(json) as { blob: BlobRef }).blob);
      },
    };
  }

  /** How many times the experiment was started before (0 the first time); counts this start. */
  async nextRun(experimentId: string): Promise<number> {
    return (await this.redis.incr(`${this.key(experimentId)}:runs`)) - 1;
  }

  /** Drops a closed round's stored updates (their effect is in the next model). */
  async clearRound(experimentId: string, round: number): Promise<void> {
    const stored = await this.storedUpdates(experimentId, round);
    for (const update of stored.values()) await this.blobs.delete(update.blob);
    await this.redis.del(this.updatesKey(experimentId, round));
  }
}
