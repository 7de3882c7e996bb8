import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

/** A seeded pseudo-random source: the same seed always yields the same sequence. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** Standard normal N(0, 1). */
  normal(): number;
  /** Shuffles in place (Fisher–Yates) and returns the same array. */
  shuffle<T>(items: T[]): T[];
  /** A shuffled 0..n-1. */
  permutation(n: number): Uint32Array;
}

function assertSeed(seed: number): number {
  if (!Number.isFinite(seed)) {
    throw new FedpetError(ErrorCodes.invalidConfig, `seed must be a finite number, got ${String(seed)}`);
  }
  return Math.trunc(seed) >>> 0;
}

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state generator that
 * passes gjrand/PractRand at the sizes we use and is a few lines of integer
 * arithmetic, so results are identical on every JS engine.
 */
export function createRng(seed: number): Rng {
  let state = assertSeed(seed);
  let spareNormal: number | undefined;

  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const int = (maxExclusive: number): number => {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `int() needs a positive integer bound, got ${maxExclusive}`,
      );
    }
    return Math.floor(next() * maxExclusive);
  };

  // Box–Muller transform; the second variate of each pair is kept for the next call.
  const normal = (): number => {
    if (spareNormal !== undefined) {
      const value = spareNormal;
      spareNormal = undefined;
      return value;
    }
    let u = next();
    while (u === 0) u = next();
    const v = next();
    const radius = Math.sqrt(-2 * Math.log(u));
    spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };

  const shuffle = <T>(items: T[]): T[] => {
    for (let i = items.length - 1; i > 0; i--) {
      const j = int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  };

  const permutation = (n: number): Uint32Array => {
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = int(i + 1);
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
    return order;
  };

  return { next, int, normal, shuffle, permutation };
}

/**
 * Derives an independent 32-bit seed from a base seed and labels (round,
 * hospital, layer...), so sub-streams never overlap by accident. FNV-1a over
 * the joined text, then the murmur3 finaliser to spread the bits.
 */
export function deriveSeed(seed: number, ...parts: readonly (string | number)[]): number {
  const text = [assertSeed(seed), ...parts].join('\u001f');
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
