import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadExperimentSpec } from '../../shared/src/contracts/spec-loader.ts';
import { selectBackend } from '../../shared/src/ml/backend.ts';
import { buildModel } from '../../shared/src/ml/model.ts';
import { loadModel } from '../../shared/src/ml/model-export.ts';
import {
  concatTabularData,
  loadTabularCsv,
  splitTrainValidation,
} from '../../shared/src/ml/tabular-dataset.ts';
import { evaluate, trainLocal } from '../../shared/src/ml/train.ts';
import { cli, runCli } from '../support/run-cli.ts';

/**
 * A real federation: `fedpet sandbox` starts an aggregator and three trainer
 * processes that talk through the real RabbitMQ and Redis, on the shipped demo
 * experiment and a synthetic non-IID cohort. The trained model is then
 * compared with the same network trained centrally on the pooled rows.
 */
const hospitals = ['h1', 'h2', 'h3'];
let work: string;
let results: {
  status: string;
  rounds: {
    round: number;
    metrics: Record<string, number>;
    hospitals: { hospital: string; status: string; numSamples: number }[];
  }[];
  finalEvaluation: { metrics: Record<string, number> };
};

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-e2e-'));
  const synth = await runCli(cli.fedpet, ['synth', '--out', join(work, 'data')]);
  assert.equal(synth.code, 0, synth.stderr);
  const run = await runCli(cli.fedpet, [
    'sandbox',
    '--federation',
    join(work, 'data', 'federation.yaml'),
    '--experiment',
    'examples/demo/experiment.yaml',
    '--out',
    join(work, 'out'),
  ]);
  assert.equal(run.code, 0, `sandbox failed:\n${run.stdout}\n${run.stderr}`);
  results = JSON.parse(await readFile(join(work, 'out', 'results.json'), 'utf8'));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('every hospital trains in every round and the validation loss falls', () => {
  assert.equal(results.status, 'completed');
  assert.ok(results.rounds.length >= 3);
  for (const round of results.rounds) {
    assert.deepEqual(
      round.hospitals.map((hospital) => [hospital.hospital, hospital.status]),
      hospitals.map((hospital) => [hospital, 'ok']),
    );
    assert.ok(round.hospitals.every((hospital) => hospital.numSamples > 0));
  }
  const losses = [
    ...results.rounds.map((round) => round.metrics.valLoss!),
    results.finalEvaluation.metrics.valLoss!,
  ];
  for (let i = 1; i < losses.length; i++) {
    assert.ok(
      losses[i]! < losses[i - 1]!,
      `validation loss rose between evaluations ${i - 1} and ${i}: ${losses.join(', ')}`,
    );
  }
});

test('the federated model ends within 5% of the same model trained centrally on the pooled data', async () => {
  const spec = await loadExperimentSpec('examples/demo/experiment.yaml');
  await selectBackend('wasm');
  const splits = await Promise.all(
    hospitals.map(async (hospital) =>
      splitTrainValidation(
        await loadTabularCsv(join(work, 'data', `${hospital}.csv`), spec.plan),
        spec.validationFraction,
        spec.seed,
      ),
    ),
  );
  const pooledTrain = concatTabularData(splits.map((split) => split.train));
  const pooledValidation = concatTabularData(splits.map((split) => split.validation));

  const central = buildModel(spec.plan, spec.seed);
  await trainLocal(
    central,
    pooledTrain,
    { ...spec.hyperparameters, localEpochs: spec.rounds * spec.hyperparameters.localEpochs },
    spec.plan,
    spec.seed,
  );
  const centralLoss = (await evaluate(central, pooledValidation, spec.plan)).loss;
  const federated = await loadModel(join(work, 'out', 'model'));
  const federatedLoss = (await evaluate(federated, pooledValidation, spec.plan)).loss;

  // The aggregator's own final evaluation is the same figure, computed at the hospitals.
  assert.ok(Math.abs(results.finalEvaluation.metrics.valLoss! - federatedLoss) < 1e-4);
  const gap = (federatedLoss - centralLoss) / centralLoss;
  assert.ok(
    gap <= 0.05,
    `federated validation loss ${federatedLoss.toFixed(4)} vs central ${centralLoss.toFixed(4)} (${(gap * 100).toFixed(1)}%)`,
  );
});
