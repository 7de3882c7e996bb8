import { FedAvgAccumulator } from '@fedpet/shared/aggregation/fedavg';
import { BufferPool } from '@fedpet/shared/codec/buffer-pool';
import { ChunkAssembler } from '@fedpet/shared/codec/chunking';
import { decodeFlat } from '@fedpet/shared/codec/tensor-codec';
import type { HospitalOutcome, UpdateBody } from '@fedpet/shared/contracts/messages';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';

export interface RoundReport {
  outcomes: HospitalOutcome[];
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

interface Expected {
  kind: 'train' | 'evaluate' | 'cox';
  hospitals: readonly string[];
  /** Parameters a training update must carry (the flat model length). */
  parameterCount: number;
  /** Training rounds: how updates are protected (default plain). */
  protection?: CollectorProtection;
}

/**
 * Collects one round's answers. Update chunks are reassembled per update
 * (SHA-256 checked per chunk and over the whole) and folded into a running
 * FedAvg sum as soon as an update is complete, then dropped: memory holds
 * the sum plus the updates still arriving, never all of them.
 */
export class RoundCollector {
  private readonly accumulator: FedAvgAccumulator | undefined;
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

  constructor(
    private readonly expected: Expected,
    /** Receive buffers, shared across rounds so updates reuse the same memory. */
    private readonly pool: BufferPool = new BufferPool(),
  ) {
    this.protection = expected.protection ?? { mode: 'plain' };
    const folding = expected.kind === 'train' && this.protection.mode !== 'secagg';
    this.accumulator = folding ? new FedAvgAccumulator(expected.parameterCount) : undefined;
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

  onOutcome(listener: (outcome: HospitalOutcome) => void): void {
    this.listeners.add(listener);
  }

  /** Handles one update chunk; throws a non-retryable FedpetError for anything invalid. */
  addChunk(sender: string, body: UpdateBody, payload: Buffer): void {
    this.checkSender(sender, body.hospital);
    if (body.kind !== this.expected.kind) {
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `${body.hospital}: ${body.kind} update in a ${this.expected.kind} round`,
      );
    }
    if (this.outcomes.has(body.hospital)) return; // duplicate or late redelivery: already counted
    const encoding = body.encoding ?? 'float32';
    if (body.kind !== 'evaluate' && encoding !== ENCODING_OF[this.protection.mode]) {
      const error = new FedpetError(
        ErrorCodes.invalidMessage,
        `${body.hospital}: a ${encoding} update in a round that takes ${ENCODING_OF[this.protection.mode]} updates`,
      );
      this.record({ hospital: body.hospital, status: 'failed', ...codeAndReason(error) });
      throw error;
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
        const flat = decodeFlat(plain).values;
        if (flat.length !== this.expected.parameterCount) {
          throw new FedpetError(
            ErrorCodes.invalidMessage,
            `${body.hospital}: update has ${flat.length} parameters, the model has ${this.expected.parameterCount}`,
          );
        }
        if (body.numSamples <= 0) {
          throw new FedpetError(
            ErrorCodes.invalidMessage,
            `${body.hospital}: training update with no samples`,
          );
        }
        this.accumulator.add(flat, body.numSamples);
      } else {
        assembler.result(); // evaluation answers carry no tensors; still verify the (empty) payload
      }
    } catch (error) {
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

  /** A hospital reported that it could not do the job. */
  addError(sender: string, hospital: string, code: string, reason: string): void {
    this.checkSender(sender, hospital);
    if (this.outcomes.has(hospital)) return;
    this.record({ hospital, status: 'failed', code, reason });
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
    if (signal?.aborted) throw new FedpetError(ErrorCodes.cancelled, 'the aggregator is shutting down');
    for (const hospital of this.expected.hospitals) {
      if (!this.outcomes.has(hospital)) {
        this.record({
          hospital,
          status: 'failed',
          code: ErrorCodes.roundTimeout,
          reason: `no answer before the round deadline ${deadline.toISOString()}`,
        });
      }
    }
    for (const [updateId, assembler] of this.assemblers) this.drop(updateId, assembler);
    const outcomes = this.expected.hospitals.map((hospital) => this.outcomes.get(hospital)!);
    const accumulator = this.accumulator;
    const folded = accumulator !== undefined && accumulator.count > 0;
    return {
      outcomes,
      payloads: this.payloads,
      average: folded ? accumulator.finish() : undefined,
      totalSamples: outcomes.reduce((sum, outcome) => sum + (outcome.numSamples ?? 0), 0),
    };
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
    if (this.outcomes.size === this.expected.hospitals.length) this.settle?.();
  }
}

function codeAndReason(error: unknown): { code: string; reason: string } {
  if (error instanceof FedpetError) return { code: error.code, reason: error.message };
  return { code: ErrorCodes.internal, reason: error instanceof Error ? error.message : String(error) };
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [prefix + key, value]));
}
