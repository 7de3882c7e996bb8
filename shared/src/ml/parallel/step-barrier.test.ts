import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STEP_BARRIER_BYTES, StepAbortedError, StepBarrier } from './step-barrier.ts';

// Several parties need threads; the data-parallel trainer's tests exercise that
// (and a thread failing mid-step). Here: generations and aborting on one thread.

test('a single party passes every generation at once', () => {
  const barrier = new StepBarrier(new SharedArrayBuffer(STEP_BARRIER_BYTES), 1);
  for (let i = 0; i < 3; i++) barrier.arriveAndWait();
  assert.equal(barrier.aborted, false);
});

test('an aborted barrier throws instead of waiting', () => {
  const buffer = new SharedArrayBuffer(STEP_BARRIER_BYTES);
  const barrier = new StepBarrier(buffer, 2, 10);
  barrier.abort();
  assert.throws(() => barrier.arriveAndWait(), StepAbortedError);
  // Another view of the same memory (another thread's) sees the abort too.
  assert.equal(new StepBarrier(buffer, 2).aborted, true);
});
