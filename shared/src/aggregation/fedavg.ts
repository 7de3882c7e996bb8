import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { createFoldKernel, type FoldKernel, type FoldKernelKind } from './fold-kernel.ts';

/**
 * Streaming weighted FedAvg (McMahan et al. 2017, "Communication-Efficient
 * Learning of Deep Networks from Decentralized Data", Algorithm 1):
 * w = Σ n_k w_k / Σ n_k. Updates are folded into one float32 vector of
 * weighted sums as they arrive, so memory is one model size plus the update
 * being folded, whatever the number of hospitals. Each add() reads the update
 * once to validate it, then reads the sums and the update and writes the sums
 * (12 bytes per parameter).
 *
 * The sums are float32 (the SIMD kernel also rounds w × value to float32), so
 * the result carries float32 rounding of each term, about 1e-7 relative per
 * update; the total weight is kept in float64.
 */
export class FedAvgAccumulator {
  readonly length: number;
  readonly #kernel: FoldKernel;
  #count = 0;
  #totalWeight = 0;
  #finished = false;

  /** `kernel` forces the plain-JavaScript loop (tests, comparisons); by default SIMD is used when available. */
  constructor(length: number, options: { kernel?: FoldKernelKind } = {}) {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `FedAvg length must be a non-negative integer, got ${length}`,
      );
    }
    this.length = length;
    this.#kernel = createFoldKernel(length, options.kernel);
  }

  /** Which inner loop runs: 'wasm-simd' or 'js'. */
  get kernel(): FoldKernelKind {
    return this.#kernel.kind;
  }

  /**
   * A buffer of `byteLength` bytes to receive the next update into, inside
   * the fold kernel's memory: an update decoded there (a Float32Array view)
   * is checked and folded without any copy. Undefined where the kernel has
   * no such area; one update at a time (the area is reused).
   */
  receiveBuffer(byteLength: number): Buffer | undefined {
    const area = this.#kernel.inbox?.(byteLength);
    return area && Buffer.from(area.buffer, area.byteOffset, area.byteLength);
  }

  /** Updates folded in so far. */
  get count(): number {
    return this.#count;
  }

  /** Σ n_k over the updates folded in so far. */
  get totalWeight(): number {
    return this.#totalWeight;
  }

  /**
   * Folds one update with weight n_k (typically its number of training
   * examples). Every check runs before the sums are touched: a rejected update
   * leaves the accumulator unchanged.
   */
  add(values: Float32Array, weight: number): void {
    if (this.#finished) throw new FedpetError(ErrorCodes.invalidMessage, 'FedAvg already finished');
    if (!(values instanceof Float32Array)) {
      throw new FedpetError(ErrorCodes.invalidMessage, 'FedAvg update must be a Float32Array');
    }
    if (values.length !== this.length) {
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `FedAvg update has ${values.length} parameters, expected ${this.length}`,
      );
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new FedpetError(ErrorCodes.invalidMessage, `FedAvg weight must be finite and > 0, got ${weight}`);
    }
    const bad = this.#kernel.firstNonFinite(values);
    if (bad >= 0) {
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `FedAvg update has non-finite value ${values[bad]} at index ${bad}`,
      );
    }
    this.#kernel.fold(values, weight);
    this.#count++;
    this.#totalWeight += weight;
  }

  /**
   * The weighted average, computed in place over the sums (no second
   * model-sized array). The accumulator is finished afterwards: the returned
   * array is its storage, and add() is refused.
   */
  finish(): Float32Array {
    if (this.#count === 0) throw new FedpetError(ErrorCodes.noUpdates, 'FedAvg has no updates to average');
    this.#finished = true;
    const sums = this.#kernel.sums;
    const total = this.#totalWeight;
    for (let i = 0; i < sums.length; i++) sums[i] = sums[i]! / total;
    return sums;
  }

  /** The weighted average so far, as a new array; the accumulator stays usable. */
  result(): Float32Array {
    if (this.#finished) return this.#kernel.sums.slice();
    if (this.#count === 0) throw new FedpetError(ErrorCodes.noUpdates, 'FedAvg has no updates to average');
    const sums = this.#kernel.sums;
    const total = this.#totalWeight;
    const out = new Float32Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = sums[i]! / total;
    return out;
  }
}
