import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { type BackendPreference, selectBackend } from './backend.ts';

/** Whether a package resolves from here, to know which outcome this machine should give. */
function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
const nativeInstalled = installed('@tensorflow/tfjs-node-gpu') || installed('@tensorflow/tfjs-node');

test('without a preference the best loadable backend is chosen and reasons are given', async () => {
  const selected = await selectBackend();
  assert.equal(selected.tf.getBackend(), selected.name);
  assert.ok(selected.notes.some((note) => note.startsWith(`using '${selected.name}'`)));
  if (nativeInstalled) {
    assert.equal(selected.name, 'tensorflow');
  } else {
    assert.equal(selected.name, 'wasm');
    assert.equal(selected.gpu.available, false);
    assert.ok(selected.notes.some((note) => note.startsWith('@tensorflow/tfjs-node-gpu unavailable')));
    assert.ok(selected.notes.some((note) => note.startsWith('@tensorflow/tfjs-node unavailable')));
  }
  // The chosen backend computes.
  const sum = selected.tf.tidy(() => selected.tf.add(selected.tf.tensor1d([1, 2]), 1).dataSync());
  assert.deepEqual([...sum], [2, 3]);
});

test('an explicit preference is honoured', async () => {
  for (const name of ['cpu', 'wasm'] as const) {
    const selected = await selectBackend(name);
    assert.equal(selected.name, name);
    assert.equal(selected.tf.getBackend(), name);
  }
});

test('a preference that cannot load is INVALID_CONFIG naming the reason', async () => {
  if (!nativeInstalled) {
    await assert.rejects(
      selectBackend('tensorflow'),
      (error: unknown) =>
        error instanceof FedpetError &&
        error.code === ErrorCodes.invalidConfig &&
        error.message.includes("backend 'tensorflow' cannot be loaded") &&
        error.message.includes('@tensorflow/tfjs-node'),
    );
  }
  await assert.rejects(
    selectBackend('webgpu' as BackendPreference),
    (error: unknown) =>
      error instanceof FedpetError && error.message.includes("unknown tfjs backend 'webgpu'"),
  );
});
