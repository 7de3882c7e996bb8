import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { selectBackend } from './backend.ts';
import { buildModel, getWeights, type ModelPlan } from './model.ts';
import { loadModel, saveModel } from './model-export.ts';
import { createRng } from './random.ts';
import type { TabularData } from './tabular-dataset.ts';
import { predict, trainLocal } from './train.ts';

await selectBackend('cpu');
const directory = await mkdtemp(join(tmpdir(), 'fedpet-ml-export-'));
after(() => rm(directory, { recursive: true, force: true }));

const plan: ModelPlan = {
  task: 'binary-classification',
  features: ['a', 'b', 'c'],
  hiddenUnits: [6, 3],
  activation: 'tanh',
};
const rng = createRng(4);
const rows = 64;
const data: TabularData = {
  features: Float32Array.from({ length: rows * 3 }, () => rng.normal()),
  labels: Float32Array.from({ length: rows }, () => (rng.next() < 0.5 ? 1 : 0)),
  rows,
  featureCount: 3,
};

test('a saved model loads back with identical weights and predictions', async () => {
  const model = buildModel(plan, 8);
  await trainLocal(
    model,
    data,
    { localEpochs: 2, batchSize: 16, learningRate: 0.05, optimizer: 'sgd' },
    plan,
    8,
  );
  const target = join(directory, 'trained');
  const files = await saveModel(model, target);
  const manifest = JSON.parse(await readFile(files.modelJsonPath, 'utf8')) as {
    format: string;
    modelTopology: unknown;
    weightsManifest: { paths: string[]; weights: { name: string }[] }[];
  };
  assert.equal(manifest.format, 'layers-model');
  assert.deepEqual(manifest.weightsManifest[0]!.paths, ['weights.bin']);
  assert.deepEqual(
    manifest.weightsManifest[0]!.weights.map((w) => w.name),
    getWeights(model).map((w) => w.name),
  );
  // 6·3+6 + 3·6+3 + 1·3+1 float32 values.
  assert.equal(files.weightBytes, (3 * 6 + 6 + 6 * 3 + 3 + 3 + 1) * 4);
  assert.equal((await stat(files.weightsPath)).size, files.weightBytes);

  const loaded = await loadModel(target);
  assert.deepEqual(getWeights(loaded), getWeights(model));
  assert.deepEqual(await predict(loaded, data), await predict(model, data));
  model.dispose();
  loaded.dispose();
});

test('loading a missing directory, a broken manifest or an escaping shard path fails clearly', async () => {
  const missing = join(directory, 'nowhere');
  await assert.rejects(
    loadModel(missing),
    (error: unknown) =>
      error instanceof FedpetError &&
      error.code === ErrorCodes.invalidConfig &&
      error.message.includes(missing),
  );
  const broken = join(directory, 'broken');
  await saveModel(buildModel(plan, 1), broken);
  await writeFile(join(broken, 'model.json'), '{"modelTopology":{}}');
  await assert.rejects(loadModel(broken), /lacks modelTopology or weightsManifest/);

  const escaping = join(directory, 'escaping');
  const files = await saveModel(buildModel(plan, 1), escaping);
  const json = JSON.parse(await readFile(files.modelJsonPath, 'utf8')) as {
    weightsManifest: { paths: string[] }[];
  };
  json.weightsManifest[0]!.paths = ['../trained/weights.bin'];
  await writeFile(files.modelJsonPath, JSON.stringify(json));
  await assert.rejects(loadModel(escaping), /not a plain file name/);
});
