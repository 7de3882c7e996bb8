import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { createRng, deriveSeed } from './random.ts';

test('the same seed gives the same sequence, another seed a different one', () => {
  const draw = (seed: number): number[] => {
    const rng = createRng(seed);
    return Array.from({ length: 20 }, () => rng.next());
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
});

test('uniform draws lie in [0, 1) with mean near 1/2; normals have mean 0 and variance 1', () => {
  const rng = createRng(7);
  const n = 20000;
  let sum = 0;
  let normalSum = 0;
  let normalSquares = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    const z = rng.normal();
    normalSum += z;
    normalSquares += z * z;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.01);
  assert.ok(Math.abs(normalSum / n) < 0.03);
  assert.ok(Math.abs(normalSquares / n - 1) < 0.05);
});

test('permutation and shuffle reorder without losing or duplicating items', () => {
  const order = createRng(3).permutation(100);
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.notDeepEqual(
    [...order],
    Array.from({ length: 100 }, (_, i) => i),
  );
  const items = ['a', 'b', 'c', 'd', 'e'];
  const shuffled = createRng(3).shuffle([...items]);
  assert.deepEqual([...shuffled].sort(), items);
  assert.deepEqual(createRng(3).shuffle([...items]), shuffled);
});

test('int stays below its bound and rejects a bad bound', () => {
  const rng = createRng(1);
  for (let i = 0; i < 1000; i++) {
    const value = rng.int(6);
    assert.ok(Number.isInteger(value) && value >= 0 && value < 6);
  }
  assert.throws(() => rng.int(0), FedpetError);
});

test('deriveSeed is stable, depends on every part, and rejects non-finite seeds', () => {
  assert.equal(deriveSeed(5, 'round', 1), deriveSeed(5, 'round', 1));
  const seeds = new Set([
    deriveSeed(5, 'round', 1),
    deriveSeed(5, 'round', 2),
    deriveSeed(6, 'round', 1),
    deriveSeed(5, 'shuffle'),
  ]);
  assert.equal(seeds.size, 4);
  for (const seed of seeds) assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32);
  assert.throws(() => deriveSeed(Number.NaN), FedpetError);
  assert.throws(() => createRng(Number.POSITIVE_INFINITY), FedpetError);
});
