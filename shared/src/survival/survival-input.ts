import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

/**
 * Input checks shared by the survival statistics. Messages name the field and
 * the row index only, never the value: times and risks are clinical data.
 */

/** Throws unless every array has the same, non-zero length; returns that length. */
export function checkLengths(fields: Record<string, ArrayLike<number>>, allowEmpty = false): number {
  const entries = Object.entries(fields);
  const [firstName, first] = entries[0] ?? ['input', { length: 0 }];
  for (const [name, values] of entries) {
    if (values.length !== first.length) {
      throw new FedpetError(
        ErrorCodes.datasetInvalid,
        `survival input: '${name}' has ${values.length} rows but '${firstName}' has ${first.length}`,
      );
    }
  }
  if (!allowEmpty && first.length === 0) {
    throw new FedpetError(ErrorCodes.datasetInvalid, `survival input: '${firstName}' has no rows`);
  }
  return first.length;
}

/** Throws on the first NaN or ±Infinity, naming the field and row. */
export function checkFinite(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new FedpetError(
        ErrorCodes.datasetInvalid,
        `survival input: ${name}[${i}] is not a finite number`,
      );
    }
  }
}

/** Throws on the first entry that is not exactly 0 or 1, naming the field and row. */
export function checkBinary(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== 0 && v !== 1) {
      throw new FedpetError(ErrorCodes.datasetInvalid, `survival input: ${name}[${i}] must be 0 or 1`);
    }
  }
}

/** The common (time, event) check: equal lengths, finite times, 0/1 events. */
export function checkTimeEvent(
  time: ArrayLike<number>,
  event: ArrayLike<number>,
  others: Record<string, ArrayLike<number>> = {},
  allowEmpty = false,
): number {
  const n = checkLengths({ time, event, ...others }, allowEmpty);
  checkFinite('time', time);
  checkBinary('event', event);
  for (const [name, values] of Object.entries(others)) checkFinite(name, values);
  return n;
}

/** Row indices sorted by time, ascending or descending (ties keep index order: the sort is stable). */
export function orderByTime(time: ArrayLike<number>, direction: 'ascending' | 'descending'): Uint32Array {
  const order = new Uint32Array(time.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const sign = direction === 'ascending' ? 1 : -1;
  return order.sort((a, b) => sign * (time[a]! - time[b]!));
}
