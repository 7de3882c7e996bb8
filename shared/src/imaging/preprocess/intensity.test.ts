import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../../errors/fedpet-error.ts';
import { makeVolume } from '../radiomics/test-phantoms.ts';
import { clipSuv, windowCt } from './intensity.ts';

function volumeOf(values: number[]) {
  const v = makeVolume([values.length, 1, 1], [2, 2, 2], 0, [1, 2, 3]);
  v.data.set(values);
  return v;
}

test('clipSuv clamps to [0, max] and optionally scales to [0, 1]', () => {
  const v = volumeOf([-0.5, 0, 2.5, 10, 25, Number.NaN]);
  assert.deepEqual([...clipSuv(v, 10).data], [0, 0, 2.5, 10, 10, 0]);
  assert.deepEqual([...clipSuv(v, 10, { scale: true }).data], [0, 0, 0.25, 1, 1, 0]);
  const clipped = clipSuv(v, 10);
  assert.deepEqual(clipped.origin, v.origin);
  assert.notEqual(clipped.data, v.data, 'the input is not modified in place');
  assert.equal(v.data[4], 25);
  assert.throws(() => clipSuv(v, 0), FedpetError);
});

test('windowCt maps [center − width/2, center + width/2] onto [0, 1]', () => {
  const v = volumeOf([-1000, -160, 40, 240, 3000]);
  assert.deepEqual([...windowCt(v, 40, 400).data], [0, 0, 0.5, 1, 1]);
  const wide = windowCt(v, 0, 2000).data;
  assert.ok(Math.abs(wide[1]! - 0.42) < 1e-6);
  assert.throws(() => windowCt(v, 40, 0), FedpetError);
});
