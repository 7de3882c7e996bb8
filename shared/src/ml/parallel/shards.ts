/** A contiguous run of a batch's rows given to one thread. */
export interface Shard {
  offset: number;
  rows: number;
}

/**
 * Splits `rows` batch rows into `threads` contiguous shards, as equal as
 * possible, the larger ones first (so thread 0 always has rows when the batch
 * has any). Threads beyond the batch get empty shards.
 */
export function shardsOf(rows: number, threads: number): Shard[] {
  if (!Number.isInteger(rows) || rows < 0)
    throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  if (!Number.isInteger(threads) || threads < 1)
    throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const base = Math.floor(rows / threads);
  const extra = rows % threads;
  const shards: Shard[] = [];
  let offset = 0;
  for (let t = 0; t < threads; t++) {
    const size = base + (t < extra ? 1 : 0);
    shards.push({ offset, rows: size });
    offset += size;
  }
  return shards;
}
