import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../../errors/fedpet-error.ts';
import type { Vec3 } from '../volume.ts';
import { componentIndices, growRegion, labelComponents, neighbourSteps } from './connected-components.ts';

function maskOf(dims: Vec3, boxes: [Vec3, Vec3][]): Uint8Array {
  const mask = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [min, max] of boxes)
    for (let k = min[2]; k <= max[2]; k++)
      for (let j = min[1]; j <= max[1]; j++)
        for (let i = min[0]; i <= max[0]; i++) mask[i + dims[0] * (j + dims[1] * k)] = 1;
  return mask;
}

test('neighbourhoods have 6, 18 and 26 steps', () => {
  assert.equal(neighbourSteps(6).length, 6);
  assert.equal(neighbourSteps(18).length, 18);
  assert.equal(neighbourSteps(26).length, 26);
});

test('cubes touching only at a corner: one component with 26-connectivity, two with 6 or 18', () => {
  const dims: Vec3 = [8, 8, 8];
  const mask = maskOf(dims, [
    [
      [1, 1, 1],
      [3, 3, 3],
    ],
    [
      [4, 4, 4],
      [6, 6, 6],
    ],
  ]);
  const c26 = labelComponents(mask, dims, 26);
  assert.equal(c26.components.length, 1);
  assert.equal(c26.components[0]!.voxels, 54);
  assert.deepEqual(c26.components[0]!.box, { min: [1, 1, 1], max: [6, 6, 6] });
  assert.equal(labelComponents(mask, dims, 18).components.length, 2);
  const c6 = labelComponents(mask, dims, 6);
  assert.equal(c6.components.length, 2);
  assert.deepEqual(
    c6.components.map((c) => c.voxels),
    [27, 27],
  );
});

test('cubes sharing an edge: one component with 18-connectivity, two with 6', () => {
  const dims: Vec3 = [8, 8, 5];
  const mask = maskOf(dims, [
    [
      [1, 1, 1],
      [3, 3, 3],
    ],
    [
      [4, 4, 1],
      [6, 6, 3],
    ],
  ]);
  assert.equal(labelComponents(mask, dims, 18).components.length, 1);
  assert.equal(labelComponents(mask, dims, 6).components.length, 2);
});

test('labels follow scan order and componentIndices groups voxels by label', () => {
  const dims: Vec3 = [10, 4, 3];
  // Second box starts earlier in scan order (k = 0) so it must get label 1.
  const mask = maskOf(dims, [
    [
      [0, 0, 2],
      [1, 0, 2],
    ],
    [
      [7, 2, 0],
      [8, 3, 0],
    ],
  ]);
  const labelling = labelComponents(mask, dims);
  assert.deepEqual(
    labelling.components.map((c) => [c.label, c.voxels, c.firstIndex]),
    [
      [1, 4, 7 + 10 * 2],
      [2, 2, 0 + 10 * 4 * 2],
    ],
  );
  const { indices, start } = componentIndices(labelling);
  assert.deepEqual([...start], [0, 4, 6]);
  assert.deepEqual([...indices.subarray(0, 4)], [27, 28, 37, 38]);
  assert.deepEqual([...indices.subarray(4, 6)], [80, 81]);
});

test('a mask of over a million voxels is labelled without recursion', () => {
  const dims: Vec3 = [128, 128, 64];
  const mask = new Uint8Array(128 * 128 * 64).fill(1);
  // A wall at i = 64 with one hole splits nothing; a full wall at k = 32 splits the block in two.
  for (let j = 0; j < 128; j++) for (let i = 0; i < 128; i++) mask[i + 128 * (j + 128 * 32)] = 0;
  const labelling = labelComponents(mask, dims);
  assert.deepEqual(
    labelling.components.map((c) => c.voxels),
    [128 * 128 * 32, 128 * 128 * 31],
  );
});

test('mask length must match the grid', () => {
  assert.throws(() => labelComponents(new Uint8Array(5), [2, 2, 2]), FedpetError);
});

test('growRegion keeps connected voxels above threshold inside the box and skips blocked ones', () => {
  const dims: Vec3 = [7, 1, 1];
  const data = new Float32Array([5, 5, 1, 5, 5, 5, 5]);
  const box = { min: [0, 0, 0] as Vec3, max: [5, 0, 0] as Vec3 };
  assert.deepEqual([...growRegion(data, dims, 4, 3, box)].sort(), [3, 4, 5]);
  assert.deepEqual([...growRegion(data, dims, 0, 3, box)].sort(), [0, 1]);
  assert.deepEqual([...growRegion(data, dims, 2, 3, box)], []);
  const blocked = new Int32Array(7);
  blocked[5] = -1;
  assert.deepEqual([...growRegion(data, dims, 4, 3, box, { blocked })].sort(), [3, 4]);
  assert.deepEqual([...growRegion(data, dims, 6, 3, box)], []);
});

/** Reference: plain flood fill over the neighbour list, scan-order seeds. */
function referenceLabels(mask: Uint8Array, dims: Vec3, connectivity: 6 | 18 | 26): Int32Array {
  const [nx, ny, nz] = dims;
  const labels = new Int32Array(mask.length);
  const steps = neighbourSteps(connectivity);
  let next = 0;
  for (let s = 0; s < mask.length; s++) {
    if (!mask[s] || labels[s]) continue;
    labels[s] = ++next;
    const stack = [s];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const i = p % nx;
      const j = Math.floor(p / nx) % ny;
      const k = Math.floor(p / (nx * ny));
      for (const [di, dj, dk] of steps) {
        const a = i + di;
        const b = j + dj;
        const c = k + dk;
        if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue;
        const q = a + nx * (b + ny * c);
        if (mask[q] && !labels[q]) {
          labels[q] = next;
          stack.push(q);
        }
      }
    }
  }
  return labels;
}

test('random masks: labels match a reference flood fill for 6, 18 and 26', () => {
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const dims: Vec3 = [13, 11, 9];
  for (const density of [0.2, 0.35, 0.5, 0.65]) {
    for (let trial = 0; trial < 4; trial++) {
      const mask = new Uint8Array(13 * 11 * 9).map(() => (random() < density ? 1 : 0));
      for (const connectivity of [6, 18, 26] as const) {
        const got = labelComponents(mask, dims, connectivity);
        const expected = referenceLabels(mask, dims, connectivity);
        assert.deepEqual(got.labels, expected, `density ${density}, ${connectivity}-connectivity`);
        const count = Math.max(0, ...expected);
        assert.equal(got.components.length, count);
        for (const c of got.components) {
          let n = 0;
          const min = [99, 99, 99];
          const max = [-1, -1, -1];
          expected.forEach((l, p) => {
            if (l !== c.label) return;
            n++;
            const ijk = [p % 13, Math.floor(p / 13) % 11, Math.floor(p / 143)];
            for (let a = 0; a < 3; a++) {
              min[a] = Math.min(min[a]!, ijk[a]!);
              max[a] = Math.max(max[a]!, ijk[a]!);
            }
          });
          assert.equal(c.voxels, n);
          assert.deepEqual(c.box, { min, max });
          assert.equal(expected[c.firstIndex], c.label);
          assert.equal(expected.indexOf(c.label), c.firstIndex);
        }
      }
    }
  }
});
