import { FedAvgAccumulator } from '@fedpet/shared/aggregation/fedavg';
import { BufferPool } from '@fedpet/shared/codec/buffer-pool';
import {
  ChunkAssembler,
  checkChunk,
  checkPayloadHash,
  type Declaration,
} from '@fedpet/shared/codec/chunking';
import { decodeFlat } from '@fedpet/shared/codec/tensor-codec';
import type { HospitalOutcome, UpdateBody } from '@fedpet/shared/contracts/messages';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';

export interface RoundReport {
  outcomes: HospitalOutcome[];
  /** Why the round closed: everyone answered, quorum plus grace, or the deadline. */
  closedBy: 'all-answered' | 'grace' | 'deadline';
  /** Exact-Cox rounds: each answering hospital's opened payload. */
  payloads: Map<string, Uint8Array>;
  /** The weighted average, or undefined for evaluation rounds or when nobody answered. */
  average: Float32Array | undefined;
  totalSamples: number;
}

/**
 * How training updates arrive: plain encoded weights (tests and tools only),
 * sealed to the aggregator's key (opened here, then folded), or masked
 * (secure aggregation: the assembled vector goes to the protocol's server,
 * which folds it into the masked sum; nothing here ever sees a plain update).
 */
export type CollectorProtection =
  | { mode: 'plain' }
  | { mode: 'sealed'; open(sealed: Uint8Array, hospital: string): Uint8Array }
  | { mode: 'secagg'; onMasked(hospital: string, masked: Uint32Array): void };

const ENCODING_OF = { plain: 'float32', sealed: 'sealed', secagg: 'secagg-masked' } as const;

/**
 * Where a round's training updates are kept until the round closes: Redis in
 * the aggregator (checkpoint-store.ts), so a restarted aggregator finds
 * them. Each chunk is stored as it arrives (before it is acknowledged);
 * a complete update is read back once to be verified, then committed as its
 * hospital's update of the round.
 */
export interface UpdateStore {
  /**
   * Keeps one checked chunk at its offset. `added` is false when that chunk
   * was already stored (a redelivery); `stored` counts the update's chunks.
   */
  putChunk(
    hospital: string,
    updateId: string,
    chunk: { index: number; offset: number; data: Uint8Array },
  ): Promise<{ added: boolean; stored: number }>;
  /** A complete update's bytes, read into the buffer `allocate` gives for their size. */
  loadPending(
    hospital: string,
    updateId: string,
    bytes: number,
    allocate: (bytes: number) => Buffer,
  ): Promise<Buffer>;
  /** Makes a verified update its hospital's update of the round; 'duplicate' when it already has one. */
  commit(meta: StoredUpdateMeta, bytes: number): Promise<'stored' | 'duplicate'>;
  /** The hospital's committed update, read into the buffer `allocate` gives. */
  load(hospital: string, allocate: (bytes: number) => Buffer): Promise<Buffer>;
}

/** What is kept beside a stored update's bytes. */
export interface StoredUpdateMeta {
  hospital: string;
  updateId: string;
  attempt: number;
  numSamples: number;
  metrics: Record<string, number>;
  /** L2 distance of the update to the round's global model (or its norm without one). */
  distance: number;
}

interface Expected {
  kind: 'train' | 'evaluate' | 'cox';
  hospitals: readonly string[];
  /** Parameters a training update must carry (the flat model length). */
  parameterCount: number;
  /** Training rounds: how updates are protected (default plain). */
  protection?: CollectorProtection;
  /**
   * Training rounds with plain or sealed updates: keep each complete update
   * here and fold them all when the round closes, in hospital order, so the
   * average does not depend on arrival order and survives a restart.
   * Without a store, updates are folded as they arrive (in memory only).
   */
  store?: UpdateStore;
  /** The round's global model, flat: updates' distances are measured from it. */
  reference?: Float32Array;
  /** Reject updates farther than this many times the median distance (0: off; needs 3+ updates). */
  normRatio?: number;
  /** This run of the round (envelope attempt); default 0. */
  attempt?: number;
  /** Quorum and grace: once `quorum` hospitals answered, close after `graceMs`. */
  quorum?: number;
  graceMs?: number;
}

/** What the collector rejected or ignored, for results.json's reliability counters. */
export interface CollectorCounters {
  duplicates: number;
  rejected: number;
  staleAttempts: number;
}

/**
 * Collects one round's answers. Update chunks are reassembled per update
 * (SHA-256 checked per chunk and over the whole) and folded into a running
 * FedAvg sum as soon as an update is complete, then dropped: memory holds
 * the sum plus the updates still arriving, never all of them.
 */
export class RoundCollector {
  /** Streaming mode: created up front. Durable mode: only when the round closes (no sums held while receiving). */
  private accumulator: FedAvgAccumulator | undefined;
  private readonly assemblers = new Map<string, ChunkAssembler>();
  private readonly outcomes = new Map<string, HospitalOutcome>();
  private readonly listeners = new Set<(outcome: HospitalOutcome) => void>();
  private settle: (() => void) | undefined;
  private readonly done: Promise<void>;
  /** An update is the model's weights plus the codec header: anything far bigger is refused before allocation. */
  private readonly maxUpdateBytes: number;
  /** The memory of the accumulator's receive area while an update is being assembled in it. */
  private inboxInUse: ArrayBufferLike | undefined;
  private readonly protection: CollectorProtection;
  private readonly payloads = new Map<string, Uint8Array>();
  /** Hospitals whose complete update is being verified right now: later copies are duplicates. */
  private readonly storing = new Set<string>();
  /** Durable mode: what each update's first chunk declared (the rest must agree). */
  private readonly declarations = new Map<string, Declaration>();
  /** Durable mode: complete updates are verified one at a time, so one is in memory while receiving. */
  private completion: Promise<void> = Promise.resolve();
  /** Stored updates (durable mode), folded when the round closes. */
  private readonly stored = new Map<string, StoredUpdateMeta>();
  private graceTimer: NodeJS.Timeout | undefined;
  private closedBy: RoundReport['closedBy'] = 'deadline';
  private closed = false;
  readonly counters: CollectorCounters = { duplicates: 0, rejected: 0, staleAttempts: 0 };
  private readonly attempt: number;

  constructor(
    private readonly expected: Expected,
    /** Receive buffers, shared across rounds so updates reuse the same memory. */
    private readonly pool: BufferPool = new BufferPool(),
  ) {
    this.protection = expected.protection ?? { mode: 'plain' };
    this.attempt = expected.attempt ?? 0;
    const folding = expected.kind === 'train' && this.protection.mode !== 'secagg';
    this.accumulator =
      folding && !expected.store ? new FedAvgAccumulator(expected.parameterCount) : undefined;
    this.maxUpdateBytes =
      expected.kind === 'evaluate'
        ? 1024
        : expected.kind === 'cox'
          ? 256 * 1024 * 1024
          : this.protection.mode === 'secagg'
            ? (expected.parameterCount + 2) * 4
            : expected.parameterCount * 4 + 1024 * 1024;
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /** Whether the hospital already failed this round (an error, or no job): it will not answer again. */
  hasFailed(hospital: string): boolean {
    const outcome = this.outcomes.get(hospital);
    return outcome !== undefined && outcome.status !== 'ok';
  }

  /** Whether the hospital already has an outcome (stored update, error, exclusion). */
  hasAnswered(hospital: string): boolean {
    return this.outcomes.has(hospital);
  }

  onOutcome(listener: (outcome: HospitalOutcome) => void): void {
    this.listeners.add(listener);
  }

  /** Whether a message of this attempt may count: secure rounds take only their own attempt's. */
  private acceptsAttempt(attempt: number): boolean {
    if (attempt > this.attempt) return false;
    // Plain and sealed updates (and evaluations) of an earlier attempt were made from the same
    // global model: as good as this attempt's. Masked ones belong to the old protocol run.
    return attempt === this.attempt || this.protection.mode !== 'secagg';
  }

  /**
   * Handles one update chunk; throws a non-retryable FedpetError for anything
   * invalid. Resolves once a complete update is counted (stored first, in
   * durable mode), so the message is acknowledged only after that.
   */
  async addChunk(sender: string, body: UpdateBody, payload: Buffer, attempt = 0): Promise<void> {
    this.checkSender(sender, body.hospital);
    if (body.kind !== this.expected.kind) {
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `${body.hospital}: ${body.kind} update in a ${this.expected.kind} round`,
      );
    }
    if (!this.acceptsAttempt(attempt)) {
      if (body.payload.index === body.payload.count - 1) this.counters.staleAttempts++; // once per update
      return;
    }
    if (this.outcomes.has(body.hospital) || this.storing.has(body.hospital)) {
      // A redelivery, a retried job's second update or a copy: already counted once.
      if (body.payload.index === body.payload.count - 1) this.counters.duplicates++;
      return;
    }
    const encoding = body.encoding ?? 'float32';
    if (body.kind !== 'evaluate' && encoding !== ENCODING_OF[this.protection.mode]) {
      const error = new FedpetError(
        ErrorCodes.invalidMessage,
        `${body.hospital}: a ${encoding} update in a round that takes ${ENCODING_OF[this.protection.mode]} updates`,
      );
      this.record({ hospital: body.hospital, status: 'failed', ...codeAndReason(error) });
      throw error;
    }
    if (this.expected.store && this.expected.kind === 'train' && this.protection.mode !== 'secagg') {
      await this.addStoredChunk(body, payload, attempt);
      return;
    }
    let assembler = this.assemblers.get(body.updateId);
    if (!assembler) {
      assembler = new ChunkAssembler({
        expectedSha256: body.payload.payloadSha256,
        maxTotalBytes: this.maxUpdateBytes,
        allocate: (bytes) => this.receiveBuffer(bytes),
      });
      this.assemblers.set(body.updateId, assembler);
    }
    let complete: boolean;
    try {
      complete = assembler.add({ ...body.payload, data: payload });
    } catch (error) {
      this.drop(body.updateId, assembler);
      this.counters.rejected++;
      this.record({ hospital: body.hospital, status: 'failed', ...codeAndReason(error) });
      throw error;
    }
    if (!complete) return;
    try {
      if (this.expected.kind === 'train' && this.protection.mode === 'secagg') {
        this.foldMasked(body, assembler.result());
      } else if (this.expected.kind === 'cox') {
        const received = assembler.result();
        const opened =
          this.protection.mode === 'sealed' ? this.protection.open(received, body.hospital) : received;
        this.payloads.set(body.hospital, Uint8Array.from(opened));
      } else if (this.accumulator) {
        // A view of the receive buffer: folded, then the buffer goes back to the pool.
        const received = assembler.result();
        const plain =
          this.protection.mode === 'sealed' ? this.protection.open(received, body.hospital) : received;
        this.accumulator.add(this.checkedWeights(body.hospital, plain, body.numSamples), body.numSamples);
      } else {
        assembler.result(); // evaluation answers carry no tensors; still verify the (empty) payload
      }
    } catch (error) {
      this.counters.rejected++;
      this.record({ hospital: body.hospital, status: 'failed', ...codeAndReason(error) });
      throw error;
    } finally {
      this.drop(body.updateId, assembler);
    }
    this.record({
      hospital: body.hospital,
      status: 'ok',
      numSamples: body.numSamples,
      metrics: { ...body.metrics, ...prefixed('ms.', body.timingsMs) },
    });
  }

  /** The update's weights after the checks every fold needs: shape, samples. (Finiteness: FedAvgAccumulator.add.) */
  private checkedWeights(hospital: string, plain: Uint8Array, numSamples: number): Float32Array {
    const flat = decodeFlat(plain).values;
    if (flat.length !== this.expected.parameterCount) {
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `${hospital}: update has ${flat.length} parameters, the model has ${this.expected.parameterCount}`,
      );
    }
    if (numSamples <= 0) {
      throw new FedpetError(ErrorCodes.invalidMessage, `${hospital}: training update with no samples`);
    }
    return flat;
  }

  /**
   * Durable mode: each chunk is checked (declaration, size, CRC-32) and
   * stored in Redis before it is acknowledged, so nothing acknowledged is
   * lost if the aggregator dies mid-update. The chunk that completes an
   * update has it read back and verified (SHA-256, opened, shape, samples,
   * finite values, distance to the global model) and committed; only then
   * is it counted. Nothing is folded until the round closes, so a rejected
   * update never touches the sums.
   */
  private async addStoredChunk(body: UpdateBody, payload: Buffer, attempt: number): Promise<void> {
    const store = this.expected.store!;
    let declaration: Declaration;
    try {
      declaration = checkChunk(
        { ...body.payload, data: payload },
        { maxTotalBytes: this.maxUpdateBytes, known: this.declarations.get(body.updateId) },
      );
    } catch (error) {
      this.counters.rejected++;
      this.record({ hospital: body.hospital, status: 'failed', ...codeAndReason(error) });
      throw error;
    }
    this.declarations.set(body.updateId, declaration);
    const { index } = body.payload;
    const put = await store.putChunk(body.hospital, body.updateId, {
      index,
      offset: index * declaration.chunkBytes,
      data: payload,
    });
    if (!put.added) {
      if (put.stored === declaration.count) this.counters.duplicates++; // a redelivered chunk of a stored update
      return;
    }
    if (put.stored < declaration.count) return;
    const verify = this.completion.then(() => this.verifyStored(body, attempt, declaration));
    this.completion = verify.catch(() => {});
    await verify;
  }

  private async verifyStored(body: UpdateBody, attempt: number, declaration: Declaration): Promise<void> {
    if (this.outcomes.has(body.hospital)) {
      this.counters.duplicates++; // another update of this hospital was counted first
      return;
    }
    const store = this.expected.store!;
    const buffer = await store.loadPending(body.hospital, body.updateId, declaration.totalBytes, (bytes) =>
      this.pool.acquire(bytes),
    );
    this.storing.add(body.hospital);
    try {
      let meta: StoredUpdateMeta;
      try {
        checkPayloadHash(buffer, declaration);
        const plain =
          this.protection.mode === 'sealed' ? this.protection.open(buffer, body.hospital) : buffer;
        const flat = this.checkedWeights(body.hospital, plain, body.numSamples);
        meta = {
          hospital: body.hospital,
          updateId: body.updateId,
          attempt,
          numSamples: body.numSamples,
          metrics: { ...body.metrics, ...prefixed('ms.', body.timingsMs) },
          distance: distanceOf(body.hospital, flat, this.expected.reference),
        };
      } catch (error) {
        this.counters.rejected++;
        this.record({ hospital: body.hospital, status: 'failed', ...codeAndReason(error) });
        throw error;
      }
      if ((await store.commit(meta, declaration.totalBytes)) === 'duplicate') {
        this.counters.duplicates++;
        return;
      }
      if (this.closed) return; // the round closed meanwhile: the update is late
      this.stored.set(body.hospital, meta);
      this.record({
        hospital: body.hospital,
        status: 'ok',
        numSamples: meta.numSamples,
        metrics: meta.metrics,
      });
    } finally {
      this.storing.delete(body.hospital);
      this.pool.release(buffer);
    }
  }

  /**
   * Counts an update stored before a restart (durable mode) as if it had
   * just arrived: it is folded at close with the others.
   */
  restore(meta: StoredUpdateMeta): void {
    if (!this.expected.hospitals.includes(meta.hospital) || this.outcomes.has(meta.hospital)) return;
    this.stored.set(meta.hospital, meta);
    this.record({
      hospital: meta.hospital,
      status: 'ok',
      numSamples: meta.numSamples,
      metrics: meta.metrics,
    });
  }

  /**
   * Secure aggregation: the assembled masked vector (n parameters + the
   * sample-count and clip-count words) goes to the protocol's server, which
   * adds it to the masked sum; the receive buffer is then wiped.
   */
  private foldMasked(body: UpdateBody, bytes: Buffer): void {
    if (this.protection.mode !== 'secagg') return;
    const words = this.expected.parameterCount + 2;
    if (bytes.byteLength !== words * 4) {
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `${body.hospital}: masked update of ${bytes.byteLength} bytes, expected ${words * 4}`,
      );
    }
    if (body.numSamples <= 0) {
      throw new FedpetError(ErrorCodes.invalidMessage, `${body.hospital}: training update with no samples`);
    }
    // Little-endian words; pooled buffers are 8-byte aligned, so this is a view, not a copy.
    const masked =
      bytes.byteOffset % 4 === 0
        ? new Uint32Array(bytes.buffer, bytes.byteOffset, words)
        : new Uint32Array(Uint8Array.from(bytes).buffer);
    this.protection.onMasked(body.hospital, masked);
    bytes.fill(0);
  }

  /** A hospital reported that it could not do the job (an error of another attempt does not count). */
  addError(sender: string, hospital: string, code: string, reason: string, attempt = this.attempt): void {
    this.checkSender(sender, hospital);
    if (attempt !== this.attempt) {
      this.counters.staleAttempts++;
      return;
    }
    if (this.outcomes.has(hospital) || this.storing.has(hospital)) return;
    this.record({ hospital, status: 'failed', code, reason });
  }

  /** A hospital the round closed without under the straggler policy (secure key exchange). */
  addLate(hospital: string, reason: string): void {
    if (this.outcomes.has(hospital)) return;
    this.record({ hospital, status: 'late', code: ErrorCodes.lateUpdate, reason });
  }

  /** A hospital the runner does not ask this round (excluded): recorded up front. */
  addExcluded(hospital: string, reason: string): void {
    if (this.outcomes.has(hospital)) return;
    this.record({ hospital, status: 'excluded', code: ErrorCodes.hospitalExcluded, reason });
  }

  /** Resolves when every hospital answered, or at the deadline (missing ones then count as failed). */
  async wait(deadline: Date, signal?: AbortSignal): Promise<RoundReport> {
    const remaining = Math.max(0, deadline.getTime() - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, remaining);
    });
    // An already-aborted signal fires no event: check it, or a cancelled round would wait for its deadline.
    const aborted = new Promise<void>((resolve) => {
      if (signal?.aborted) resolve();
      else signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([this.done, timeout, aborted]);
    clearTimeout(timer);
    clearTimeout(this.graceTimer);
    if (signal?.aborted) throw new FedpetError(ErrorCodes.cancelled, 'the aggregator is shutting down');
    this.closed = true;
    const closedBy = this.closedBy;
    for (const hospital of this.expected.hospitals) {
      if (this.outcomes.has(hospital)) continue;
      this.record(
        closedBy === 'grace'
          ? {
              hospital,
              status: 'late',
              code: ErrorCodes.lateUpdate,
              reason: `still working when the round closed (quorum of ${this.expected.quorum} plus ${Math.round((this.expected.graceMs ?? 0) / 1000)} s grace); its update will be dropped`,
            }
          : {
              hospital,
              status: 'failed',
              code: ErrorCodes.roundTimeout,
              reason: `no answer before the round deadline ${deadline.toISOString()}`,
            },
      );
    }
    for (const [updateId, assembler] of this.assemblers) this.drop(updateId, assembler);
    if (this.stored.size > 0) await this.foldStored();
    const outcomes = this.expected.hospitals.map((hospital) => this.outcomes.get(hospital)!);
    const accumulator = this.accumulator;
    const folded = accumulator !== undefined && accumulator.count > 0;
    return {
      outcomes,
      closedBy,
      payloads: this.payloads,
      average: folded ? accumulator.finish() : undefined,
      totalSamples: outcomes.reduce(
        (sum, outcome) => sum + (outcome.status === 'ok' ? (outcome.numSamples ?? 0) : 0),
        0,
      ),
    };
  }

  /**
   * Durable mode, at close: updates whose distance is far outside the
   * round's (normRatio × the median, with 3 or more updates) are rejected;
   * the rest are loaded and folded in hospital order, so the float32 sums do
   * not depend on arrival order: a restarted or replayed round gives the same
   * model bit for bit.
   */
  private async foldStored(): Promise<void> {
    const ratio = this.expected.normRatio ?? 0;
    const entries = [...this.stored.values()].sort((a, b) => (a.hospital < b.hospital ? -1 : 1));
    const outliers = new Map<string, string>();
    if (ratio > 0 && entries.length >= 3) {
      const median = medianOf(entries.map((entry) => entry.distance));
      for (const entry of entries) {
        if (entry.distance > ratio * Math.max(median, 1e-12)) {
          outliers.set(
            entry.hospital,
            `update distance ${entry.distance.toPrecision(4)} to the global model is above ${ratio} × the round's median ${median.toPrecision(4)}`,
          );
        }
      }
    }
    const accumulator = new FedAvgAccumulator(this.expected.parameterCount);
    this.accumulator = accumulator;
    for (const entry of entries) {
      const outlier = outliers.get(entry.hospital);
      if (outlier !== undefined) {
        this.counters.rejected++;
        this.outcomes.set(entry.hospital, {
          hospital: entry.hospital,
          status: 'failed',
          code: ErrorCodes.updateNormOutOfBounds,
          reason: `${entry.hospital}: ${outlier}`,
        });
        for (const listener of this.listeners) listener(this.outcomes.get(entry.hospital)!);
        continue;
      }
      // Plain updates load straight into the accumulator's receive area (folded with no copy);
      // sealed ones into a pooled buffer, opened, then folded.
      let pooled: Buffer | undefined;
      const received = await this.expected.store!.load(entry.hospital, (bytes) => {
        const inbox = this.protection.mode === 'plain' ? accumulator.receiveBuffer(bytes) : undefined;
        if (inbox) return inbox;
        pooled = this.pool.acquire(bytes);
        return pooled;
      });
      try {
        const plain =
          this.protection.mode === 'sealed' ? this.protection.open(received, entry.hospital) : received;
        accumulator.add(this.checkedWeights(entry.hospital, plain, entry.numSamples), entry.numSamples);
      } finally {
        if (pooled) this.pool.release(pooled);
      }
    }
  }

  /**
   * Where an update is reassembled: the accumulator's own receive area when
   * it is free (the update is then checked and folded with no copy), else a
   * pooled buffer (updates arriving interleaved).
   */
  private receiveBuffer(bytes: number): Buffer {
    if (this.accumulator && this.protection.mode === 'plain' && !this.inboxInUse) {
      const inbox = this.accumulator.receiveBuffer(bytes);
      if (inbox) {
        this.inboxInUse = inbox.buffer;
        return inbox;
      }
    }
    return this.pool.acquire(bytes);
  }

  private drop(updateId: string, assembler: ChunkAssembler): void {
    this.assemblers.delete(updateId);
    const buffer = assembler.buffer;
    if (!buffer) return;
    if (buffer.buffer === this.inboxInUse) this.inboxInUse = undefined;
    else this.pool.release(buffer);
  }

  private checkSender(sender: string, hospital: string): void {
    if (sender !== hospital) {
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `sender "${sender}" reported for hospital "${hospital}"`,
      );
    }
    if (!this.expected.hospitals.includes(hospital)) {
      throw new FedpetError(ErrorCodes.invalidMessage, `hospital "${hospital}" is not part of this round`);
    }
  }

  private record(outcome: HospitalOutcome): void {
    if (this.outcomes.has(outcome.hospital)) return;
    this.outcomes.set(outcome.hospital, outcome);
    for (const listener of this.listeners) listener(outcome);
    if (this.outcomes.size === this.expected.hospitals.length) {
      this.closedBy = 'all-answered';
      this.settle?.();
      return;
    }
    const { quorum, graceMs } = this.expected;
    if (quorum !== undefined && graceMs !== undefined && !this.graceTimer) {
      const answered = [...this.outcomes.values()].filter((o) => o.status === 'ok').length;
      if (answered >= quorum) {
        // Stragglers get graceMs more; then the round closes without them.
        this.graceTimer = setTimeout(() => {
          this.closedBy = 'grace';
          this.settle?.();
        }, graceMs);
      }
    }
  }
}

/** L2 distance of an update to the reference model (its norm without one); non-finite values are refused. */
function distanceOf(hospital: string, values: Float32Array, reference: Float32Array | undefined): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (!Number.isFinite(value)) {
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `${hospital}: update has non-finite value ${value} at index ${i}`,
      );
    }
    const d = reference ? value - reference[i]! : value;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function codeAndReason(error: unknown): { code: string; reason: string } {
  if (error instanceof FedpetError) return { code: error.code, reason: error.message };
  return { code: ErrorCodes.internal, reason: error instanceof Error ? error.message : String(error) };
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [prefix + key, value]));
}
