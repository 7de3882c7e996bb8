import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { maskInPlace, pairSign, unmaskInPlace } from './masking.ts';

const ids = ['h-c', 'h-a', 'h-e', 'h-b', 'h-d'];
const LENGTH = 5000;

/** Random seeds b_u and symmetric s_uv, plus each hospital's plain vector. */
function setup() {
  const selfSeeds = new Map(ids.map((id) => [id, randomBytes(32)]));
  const pairSeeds = new Map<string, Uint8Array>();
  const key = (a: string, b: string) => [a, b].sort().join('|');
  for (const a of ids) for (const b of ids) if (a < b) pairSeeds.set(key(a, b), randomBytes(32));
  const plain = new Map(
    ids.map((id) => [id, Uint32Array.from({ length: LENGTH }, () => randomBytes(4).readUInt32LE())]),
  );
  const masked = new Map(
    ids.map((id) => [
      id,
      maskInPlace(
        plain.get(id)!.slice(),
        id,
        selfSeeds.get(id)!,
        ids.filter((peer) => peer !== id).map((peer) => ({ peer, seed: pairSeeds.get(key(id, peer))! })),
      ),
    ]),
  );
  return { selfSeeds, pairSeeds, key, plain, masked };
}

function sumOf(vectors: Uint32Array[]): Uint32Array {
  const sum = new Uint32Array(LENGTH);
  for (const v of vectors) for (let i = 0; i < LENGTH; i++) sum[i] = (sum[i]! + v[i]!) >>> 0;
  return sum;
}

test('pairSign is antisymmetric and follows the id order', () => {
  assert.equal(pairSign('h-a', 'h-b'), 1);
  assert.equal(pairSign('h-b', 'h-a'), -1);
  assert.throws(() => pairSign('h-a', 'h-a'), FedpetError);
});

test('with everyone present, pairwise masks cancel and removing the self masks leaves Σ q(x_u)', () => {
  const { selfSeeds, plain, masked } = setup();
  const sum = sumOf([...masked.values()]);
  // Before unmasking the sum is still masked.
  assert.notDeepEqual([...sum.subarray(0, 20)], [...sumOf([...plain.values()]).subarray(0, 20)]);
  unmaskInPlace(sum, [...selfSeeds.values()], []);
  assert.deepEqual([...sum], [...sumOf([...plain.values()])]);
});

test("a dropped hospital: survivors' leftover pairwise masks are removed with the recomputed seeds", () => {
  const { selfSeeds, key, pairSeeds, plain, masked } = setup();
  for (const dropped of ['h-a', 'h-c', 'h-e']) {
    const survivors = ids.filter((id) => id !== dropped);
    const sum = sumOf(survivors.map((id) => masked.get(id)!));
    const droppedPairs = survivors.map((survivor) => ({
      survivor,
      dropped,
      seed: pairSeeds.get(key(survivor, dropped))!,
    }));
    // Forgetting the dropped pairs leaves noise behind.
    const partial = unmaskInPlace(
      sum.slice(),
      survivors.map((id) => selfSeeds.get(id)!),
      [],
    );
    assert.notDeepEqual(
      [...partial.subarray(0, 20)],
      [...sumOf(survivors.map((id) => plain.get(id)!)).subarray(0, 20)],
    );
    unmaskInPlace(
      sum,
      survivors.map((id) => selfSeeds.get(id)!),
      droppedPairs,
    );
    assert.deepEqual([...sum], [...sumOf(survivors.map((id) => plain.get(id)!))], `dropped ${dropped}`);
  }
});

test('a pairwise seed given twice is refused', () => {
  const seed = randomBytes(32);
  assert.throws(
    () =>
      maskInPlace(new Uint32Array(4), 'h-a', randomBytes(32), [
        { peer: 'h-b', seed },
        { peer: 'h-b', seed },
      ]),
    /given twice/,
  );
});
