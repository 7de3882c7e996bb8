import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { createRng } from '../random.ts';
import { concatPlanData, fromTabular, type PlanData, selectPlanRows, splitPlanData } from './plan-data.ts';

/**
 * Rows whose every value says which row it is: tabular = [i, −i], target
 * [1000 + i, event] (survival) or [label], image pixel k = 10000·i + k, and
 * row id `p<i>`. Whatever a function does to the rows, each value must still
 * point at its own row.
 */
function tagged(
  rows: number,
  target: (row: number) => number[],
  imageShape?: readonly number[],
  idPrefix = 'p',
  offset = 0,
): PlanData {
  const targetWidth = target(0).length as 1 | 2;
  const size = (imageShape ?? []).reduce((a, b) => a * b, 1);
  const tabular = new Float32Array(rows * 2);
  const targets = new Float32Array(rows * targetWidth);
  const images = imageShape ? new Float32Array(rows * size) : undefined;
  for (let i = 0; i < rows; i++) {
    const tag = offset + i;
    tabular.set([tag, -tag], 2 * i);
    targets.set(target(tag), targetWidth * i);
    if (images) for (let k = 0; k < size; k++) images[i * size + k] = 10000 * tag + k;
  }
  return {
    rows,
    tabular,
    tabularWidth: 2,
    images,
    imageShape,
    target: targets,
    targetWidth,
    rowIds: Array.from({ length: rows }, (_, i) => `${idPrefix}${offset + i}`),
  };
}

/** Asserts every row of `data` still carries the values of the row its id names. */
function assertAligned(data: PlanData, eventOf?: (tag: number) => number): void {
  const size = (data.imageShape ?? []).reduce((a, b) => a * b, 1);
  for (let i = 0; i < data.rows; i++) {
    const tag = Number(data.rowIds![i]!.replace(/^[a-z]+/, ''));
    assert.deepEqual([...data.tabular.subarray(2 * i, 2 * i + 2)], [tag, -tag], `tabular of row ${i}`);
    if (data.targetWidth === 2) {
      assert.equal(data.target[2 * i], 1000 + tag, `time of row ${i}`);
      if (eventOf) assert.equal(data.target[2 * i + 1], eventOf(tag), `event of row ${i}`);
    }
    if (data.images) {
      assert.equal(data.images[i * size], 10000 * tag, `first pixel of row ${i}`);
      assert.equal(data.images[(i + 1) * size - 1], 10000 * tag + size - 1, `last pixel of row ${i}`);
    }
  }
}

const count = (values: ArrayLike<number>, width: number, column: number, value: number): number => {
  let n = 0;
  for (let i = column; i < values.length; i += width) if (values[i] === value) n++;
  return n;
};

// 100 rows, 27 of them events, scattered (not in a block) so a split that ignored the strata would drift.
const eventRng = createRng(99);
const events = Array.from({ length: 100 }, () => 0);
for (const row of eventRng.permutation(100).subarray(0, 27)) events[row] = 1;
const eventOf = (tag: number): number => events[tag]!;
const survival = tagged(100, (tag) => [1000 + tag, eventOf(tag)], [3, 2, 2]);

test('splitPlanData is fixed by its seed; another seed picks other rows', () => {
  const first = splitPlanData(survival, 0.3, 7);
  const again = splitPlanData(survival, 0.3, 7);
  assert.deepEqual(again, first);
  const other = splitPlanData(survival, 0.3, 8);
  assert.notDeepEqual(other.validation.rowIds, first.validation.rowIds);
});

test('splitPlanData of survival data: disjoint, complete, aligned, event rate kept per stratum', () => {
  for (const seed of [1, 2, 3]) {
    const { train, validation } = splitPlanData(survival, 0.3, seed);
    const trainIds = new Set(train.rowIds);
    const validationIds = new Set(validation.rowIds);
    assert.equal(train.rows + validation.rows, 100);
    assert.equal(trainIds.size, train.rows);
    assert.equal(validationIds.size, validation.rows);
    assert.ok(
      [...validationIds].every((id) => !trainIds.has(id)),
      'disjoint',
    );
    assert.deepEqual(new Set([...trainIds, ...validationIds]), new Set(survival.rowIds), 'complete');
    assertAligned(train, eventOf);
    assertAligned(validation, eventOf);
    // round(0.3 × 27) events and round(0.3 × 73) censored rows go to validation.
    const validationEvents = count(validation.target, 2, 1, 1);
    const validationCensored = count(validation.target, 2, 1, 0);
    assert.ok(Math.abs(validationEvents - 0.3 * 27) <= 1, `events in validation: ${validationEvents}`);
    assert.ok(Math.abs(validationCensored - 0.3 * 73) <= 1, `censored in validation: ${validationCensored}`);
    assert.equal(count(train.target, 2, 1, 1), 27 - validationEvents);
  }
});

test('splitPlanData of a binary label keeps its rate in both parts', () => {
  const labels = tagged(60, (tag) => [tag % 5 === 0 ? 1 : 0]);
  const { train, validation } = splitPlanData(labels, 0.25, 4);
  assert.equal(count(validation.target, 1, 0, 1), 3, 'round(0.25 × 12) positives');
  assert.equal(count(validation.target, 1, 0, 0), 12, 'round(0.25 × 48) negatives');
  assert.equal(count(train.target, 1, 0, 1), 9);
  assertAligned(train);
  assertAligned(validation);
  for (const part of [train, validation]) {
    for (let i = 0; i < part.rows; i++) {
      const tag = part.tabular[2 * i]!;
      assert.equal(part.target[i], tag % 5 === 0 ? 1 : 0);
    }
  }
});

test('splitPlanData of a continuous target is one stratum; fraction 0 keeps every row for training', () => {
  const continuous = tagged(40, (tag) => [tag / 7]);
  const { train, validation } = splitPlanData(continuous, 0.2, 5);
  assert.equal(validation.rows, 8);
  assert.equal(train.rows, 32);
  assertAligned(train);
  assertAligned(validation);
  const none = splitPlanData(continuous, 0, 5);
  assert.equal(none.validation.rows, 0);
  assert.deepEqual(none.train.rowIds, continuous.rowIds);
});

test('splitPlanData refuses a fraction outside [0, 1)', () => {
  for (const fraction of [-0.1, 1, Number.NaN]) {
    assert.throws(
      () => splitPlanData(survival, fraction, 1),
      (error: unknown) => error instanceof FedpetError && error.code === ErrorCodes.invalidConfig,
    );
  }
});

test('selectPlanRows keeps images, tabular values and targets of each row together, in the order asked', () => {
  const picked = selectPlanRows(survival, [42, 0, 99, 42]);
  assert.equal(picked.rows, 4);
  assert.deepEqual(picked.rowIds, ['p42', 'p0', 'p99', 'p42']);
  assert.deepEqual(picked.imageShape, [3, 2, 2]);
  assert.equal(picked.images!.length, 4 * 12);
  assertAligned(picked, eventOf);
  assert.throws(() => selectPlanRows(survival, [100]), FedpetError);
  assert.throws(() => selectPlanRows(survival, [-1]), FedpetError);
});

test('concatPlanData stacks parts with their images, targets and row ids aligned', () => {
  const a = tagged(5, (tag) => [1000 + tag, tag % 2], [2, 2, 2], 'a', 0);
  const b = tagged(3, (tag) => [1000 + tag, tag % 2], [2, 2, 2], 'b', 500);
  const pooled = concatPlanData([a, b]);
  assert.equal(pooled.rows, 8);
  assert.deepEqual(pooled.rowIds, ['a0', 'a1', 'a2', 'a3', 'a4', 'b500', 'b501', 'b502']);
  assert.equal(pooled.images!.length, 8 * 8);
  assert.equal(pooled.target.length, 16);
  assertAligned(pooled, (tag) => tag % 2);

  const { rowIds: _, ...anonymous } = b;
  assert.equal(concatPlanData([a, anonymous]).rowIds, undefined, 'ids only when every part has them');

  const wider = tagged(2, (tag) => [1000 + tag, 0], [2, 2, 3]);
  assert.throws(
    () => concatPlanData([a, wider]),
    (error: unknown) => error instanceof FedpetError && error.code === ErrorCodes.datasetInvalid,
  );
  assert.throws(() => concatPlanData([]), FedpetError);
});

test('fromTabular wraps tabular data as a plan dataset with a label target', () => {
  const data = fromTabular({
    rows: 2,
    featureCount: 3,
    features: Float32Array.from([1, 2, 3, 4, 5, 6]),
    labels: Float32Array.from([0, 1]),
  });
  assert.equal(data.tabularWidth, 3);
  assert.equal(data.targetWidth, 1);
  assert.equal(data.images, undefined);
  assert.deepEqual([...selectPlanRows(data, [1]).tabular], [4, 5, 6]);
});
