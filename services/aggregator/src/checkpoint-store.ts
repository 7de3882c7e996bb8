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

/** A stored update: its description and where its bytes are. */
export interface StoredUpdate extends StoredUpdateMeta {
  bytesKey: string;
  bytes: number;
}

/** Redis strings are written and read in pieces of this size (the blob store's chunk size). */
const PIECE_BYTES = 4 * 1024 * 1024;

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
  async storedUpdates(experimentId: string, round: number): Promise<Map<string, StoredUpdate>> {
    const fields = await this.redis.hgetall(this.updatesKey(experimentId, round));
    return new Map(
      Object.entries(fields).map(([hospital, json]) => [hospital, JSON.parse(json) as StoredUpdate]),
    );
  }

  /**
   * Where one round's updates are kept. Each update's chunks go into one
   * Redis string at their offsets (SETRANGE), with the set of chunk indexes
   * beside it, in one transaction per chunk; a verified update is committed
   * as a hash field of its hospital (HSETNX: the first one wins). Reads go in
   * 4 MiB pieces, never one model-sized reply.
   */
  roundStore(experimentId: string, round: number): UpdateStore {
    const key = this.updatesKey(experimentId, round);
    const bytesKey = (hospital: string, updateId: string) => `${key}:${hospital}:${updateId}`;
    const readInto = async (
      source: string,
      bytes: number,
      allocate: (bytes: number) => Buffer,
      what: string,
    ) => {
      const target = allocate(bytes);
      for (let offset = 0; offset < bytes; offset += PIECE_BYTES) {
        const end = Math.min(bytes, offset + PIECE_BYTES);
        const piece = await this.redis.getrangeBuffer(source, offset, end - 1);
        if (piece.byteLength !== end - offset) throw new Error(`${what} is truncated at byte ${offset}`);
        piece.copy(target, offset);
      }
      return target;
    };
    return {
      putChunk: async (hospital, updateId, chunk) => {
        const target = bytesKey(hospital, updateId);
        const replies = await this.redis
          .multi()
          .setrange(
            target,
            chunk.offset,
            Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength),
          )
          .sadd(`${target}:chunks`, chunk.index)
          .scard(`${target}:chunks`)
          .sadd(`${key}:pending`, target)
          .exec();
        const failed = replies?.find(([error]) => error);
        if (!replies || failed) throw failed?.[0] ?? new Error('Redis transaction aborted');
        return { added: replies[1]![1] === 1, stored: Number(replies[2]![1]) };
      },
      loadPending: (hospital, updateId, bytes, allocate) =>
        readInto(
          bytesKey(hospital, updateId),
          bytes,
          allocate,
          `the update of ${hospital} for round ${round}`,
        ),
      commit: async (meta, bytes) => {
        const stored: StoredUpdate = { ...meta, bytesKey: bytesKey(meta.hospital, meta.updateId), bytes };
        return (await this.redis.hsetnx(key, meta.hospital, JSON.stringify(stored))) === 1
          ? 'stored'
          : 'duplicate';
      },
      load: async (hospital, allocate) => {
        const json = await this.redis.hget(key, hospital);
        if (json === null) throw new Error(`no stored update of ${hospital} for round ${round}`);
        const stored = JSON.parse(json) as StoredUpdate;
        return readInto(
          stored.bytesKey,
          stored.bytes,
          allocate,
          `the stored update of ${hospital} for round ${round}`,
        );
      },
    };
  }

  /** How many times the experiment was started before (0 the first time); counts this start. */
  async nextRun(experimentId: string): Promise<number> {
    return (await this.redis.incr(`${this.key(experimentId)}:runs`)) - 1;
  }

  /** Drops a closed round's updates, stored or partial (their effect is in the next model). */
  async clearRound(experimentId: string, round: number): Promise<void> {
    const key = this.updatesKey(experimentId, round);
    for (const target of await this.redis.smembers(`${key}:pending`)) {
      await this.redis.del(target, `${target}:chunks`);
    }
    await this.redis.del(`${key}:pending`, key);
  }
}
