/**
 * The reconstruction threshold t and the round's membership rules.
 *
 * t > n/2 (default: a majority, ⌊n/2⌋+1): each honest hospital answers one
 * unmask request and, for any one hospital v, reveals either a share of b_v
 * or a share of s_v^SK, never both (Bonawitz et al. 2017, §4 Round 4). A
 * server wanting both for v would need t answers of each kind, 2t > n
 * answers in all, from only n hospitals. t ≥ 2 because a 1-of-n share is the
 * secret itself. At least 3 hospitals: with 2, the sum reveals the other's
 * update to each (issue 5 turns secure aggregation off below 3).
 */
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { MAX_SHARES } from './shamir.ts';

export const MIN_SECURE_AGGREGATION_HOSPITALS = 3;

export function defaultThreshold(hospitals: number): number {
  return Math.floor(hospitals / 2) + 1;
}

export function validateThreshold(threshold: number, hospitals: number): void {
  if (
    !Number.isInteger(hospitals) ||
    hospitals < MIN_SECURE_AGGREGATION_HOSPITALS ||
    hospitals > MAX_SHARES
  ) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `secure aggregation needs ${MIN_SECURE_AGGREGATION_HOSPITALS}..${MAX_SHARES} hospitals, got ${hospitals}`,
    );
  }
  if (!Number.isInteger(threshold) || threshold <= hospitals / 2 || threshold > hospitals) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `secure aggregation threshold must be an integer above half the hospitals and at most all of them ` +
        `(${defaultThreshold(hospitals)}..${hospitals} for ${hospitals}), got ${threshold}`,
    );
  }
}
