/**
 * Rejects protocol messages seen before and messages for rounds already
 * closed. Run it only after the signature verified (identity-keys.ts), with
 * the same (sender, messageType, round, nonce) that the signature binds:
 * otherwise a forger could dodge it by changing an unsigned nonce.
 *
 * Memory stays bounded by the live rounds: advancing to round r forgets every
 * entry for rounds before r, which are refused wholesale from then on.
 */
import { assertId, assertRound } from './canonical.ts';

export interface ReplayEntry {
  sender: string;
  messageType: string;
  round: number;
  nonce: string;
}

export type ReplayVerdict = { accepted: true } | { accepted: false; reason: 'replay' | 'stale-round' };

export class ReplayGuard {
  #currentRound: number;
  readonly #seen = new Map<number, Set<string>>();

  constructor(currentRound = 0) {
    assertRound(currentRound, 'replay guard round');
    this.#currentRound = currentRound;
  }

  get currentRound(): number {
    return this.#currentRound;
  }

  /** Moves to `round` (never backwards) and forgets older rounds' entries. */
  advanceTo(round: number): void {
    assertRound(round, 'replay guard round');
    if (round <= this.#currentRound) return;
    this.#currentRound = round;
    for (const seenRound of this.#seen.keys()) if (seenRound < round) this.#seen.delete(seenRound);
  }

  /** Accepts and remembers a fresh message, or says why it is refused. */
  admit(entry: ReplayEntry): ReplayVerdict {
    assertId(entry.sender, 'replay entry sender');
    assertId(entry.messageType, 'replay entry messageType');
    assertRound(entry.round, 'replay entry round');
    if (typeof entry.nonce !== 'string') assertId(entry.nonce, 'replay entry nonce');
    if (entry.round < this.#currentRound) return { accepted: false, reason: 'stale-round' };
    // JSON of an array is an injective encoding of the three strings.
    const key = JSON.stringify([entry.sender, entry.messageType, entry.nonce]);
    let seen = this.#seen.get(entry.round);
    if (seen === undefined) {
      seen = new Set();
      this.#seen.set(entry.round, seen);
    }
    if (seen.has(key)) return { accepted: false, reason: 'replay' };
    seen.add(key);
    return { accepted: true };
  }
}
