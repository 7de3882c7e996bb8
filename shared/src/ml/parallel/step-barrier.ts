/**
 * A reusable barrier for the threads of one data-parallel training step,
 * over a SharedArrayBuffer: each thread blocks (Atomics.wait, so worker
 * threads only) until every party has arrived. Any party, or the main
 * thread, can abort it; every waiter then throws instead of hanging on a
 * thread that failed.
 */
const ARRIVED = 0;
const GENERATION = 1;
const ABORTED = 2;

/** Bytes of shared memory a barrier needs. */
export const STEP_BARRIER_BYTES = 3 * Int32Array.BYTES_PER_ELEMENT;

export class StepAbortedError extends Error {
  constructor() {
    super('another data-parallel thread failed in this step');
    this.name = 'StepAbortedError';
  }
}

export class StepBarrier {
  private readonly state: Int32Array;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly parties: number,
    /** How often a waiter wakes to look for an abort notice it might have missed. */
    private readonly pollMs = 1000,
  ) {
    this.state = new Int32Array(buffer, 0, 3);
  }

  get aborted(): boolean {
    return Atomics.load(this.state, ABORTED) !== 0;
  }

  /** Blocks until all parties have called it for this generation; throws StepAbortedError once aborted. */
  arriveAndWait(): void {
    const state = this.state;
    const generation = Atomics.load(state, GENERATION);
    if (this.aborted) throw new StepAbortedError();
    if (Atomics.add(state, ARRIVED, 1) === this.parties - 1) {
      // Last to arrive: reset the count before opening the next generation, so a
      // thread that races ahead into the next barrier counts from zero.
      Atomics.store(state, ARRIVED, 0);
      Atomics.add(state, GENERATION, 1);
      Atomics.notify(state, GENERATION);
      return;
    }
    while (Atomics.load(state, GENERATION) === generation) {
      if (this.aborted) throw new StepAbortedError();
      Atomics.wait(state, GENERATION, generation, this.pollMs);
    }
  }

  /** Wakes every waiter with StepAbortedError; the barrier stays aborted. */
  abort(): void {
    Atomics.store(this.state, ABORTED, 1);
    Atomics.notify(this.state, GENERATION);
  }
}
