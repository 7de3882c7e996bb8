import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardsOf } from './shards.ts';

test('shards cover the batch contiguously, as equal as possible, larger ones first', () => {
  assert.deepEqual(shardsOf(10, 3), [
    { offset: 0, rows: 4 },
    { offset: 4, rows: 3 },
    { offset: 7, rows: 3 },
  ]);
  assert.deepEqual(shardsOf(8, 2), [
    { offset: 0, rows: 4 },
    { offset: 4, rows: 4 },
  ]);
  for (const [rows, threads] of [
    [1, 1],
    [17, 4],
    [5, 8],
    [32, 32],
  ] as const) {
    const shards = shardsOf(rows, threads);
    assert.equal(shards.length, threads);
    assert.equal(
      shards.reduce((sum, s) => sum + s.rows, 0),
      rows,
    );
    shards.forEach((shard, i) => {
      if (i > 0) assert.equal(shard.offset, shards[i - 1]!.offset + shards[i - 1]!.rows);
    });
    assert.ok(Math.max(...shards.map((s) => s.rows)) - Math.min(...shards.map((s) => s.rows)) <= 1);
  }
});

test('threads beyond the batch get empty shards; thread 0 always has a row', () => {
  assert.deepEqual(shardsOf(2, 4), [
    { offset: 0, rows: 1 },
    { offset: 1, rows: 1 },
    { offset: 2, rows: 0 },
    { offset: 2, rows: 0 },
  ]);
});

test('bad counts are errors naming the value', () => {
  assert.throws(() => shardsOf(4, 0), /threads must be a positive integer, got 0/);
  assert.throws(() => shardsOf(-1, 2), /rows must be a non-negative integer, got -1/);
});
