import { writeFile } from 'node:fs/promises';

/**
 * Writes files with at most `limit` writes in flight. `write` resolves once
 * the write is queued below the limit (so the caller can keep generating while
 * earlier files reach the disk); `drain` waits for all of them and rethrows
 * the first failure.
 */
export class WritePool {
  private readonly limit: number;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private failed = false;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError('write pool limit must be a positive integer');
    this.limit = limit;
  }

  async write(path: string, bytes: Uint8Array | string): Promise<void> {
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const job: Promise<void> = writeFile(path, bytes)
      .catch((error: unknown) => {
        if (!this.failed) {
          this.failed = true;
          this.failure = error;
        }
      })
      .finally(() => {
        this.inFlight.delete(job);
      });
    this.inFlight.add(job);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failure;
  }
}
