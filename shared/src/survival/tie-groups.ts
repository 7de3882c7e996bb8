import { orderByTime } from './survival-input.ts';

/**
 * Rows sorted by time, longest first, and split into groups of equal time.
 * In this order the Cox risk set R(t) = {j : T_j ≥ t} of a group is the prefix
 * that ends with the group itself, which is what makes one pass (or one
 * cumulative sum) enough for every risk set.
 */
export interface DescendingTieGroups {
  /** Row indices by time, descending. */
  order: Uint32Array;
  /** groupStart[g] ≤ sorted position < groupEnd[g] for the rows of group g (exclusive end). */
  groupStart: Uint32Array;
  groupEnd: Uint32Array;
  /** Number of events (event = 1) in each group: d_k. */
  groupEvents: Uint32Array;
}

export function descendingTieGroups(time: ArrayLike<number>, event: ArrayLike<number>): DescendingTieGroups {
  const order = orderByTime(time, 'descending');
  const starts: number[] = [];
  const ends: number[] = [];
  const events: number[] = [];
  for (let start = 0; start < order.length; ) {
    const t = time[order[start]!]!;
    let end = start;
    let d = 0;
    while (end < order.length && time[order[end]!] === t) {
      if (event[order[end]!] === 1) d++;
      end++;
    }
    starts.push(start);
    ends.push(end);
    events.push(d);
    start = end;
  }
  return {
    order,
    groupStart: Uint32Array.from(starts),
    groupEnd: Uint32Array.from(ends),
    groupEvents: Uint32Array.from(events),
  };
}
