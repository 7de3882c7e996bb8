import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeNamespace } from '../../services/researcher/src/namespace-cleanup.ts';
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
import { connectRedis } from '../../shared/src/service/connect-redis.ts';
import type { Bus, Subscription } from '../../shared/src/transport/bus.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';
import { cli, runCli } from '../support/run-cli.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

/**
 * A real federation: `fedpet sandbox` starts an aggregator and three trainer
 * processes that talk through the real RabbitMQ and Redis, on the shipped demo
 * experiment and a synthetic non-IID cohort. The trained model is then
 * compared with the same network trained centrally on the pooled rows.
 */
const hospitals = ['h1', 'h2', 'h3'];
const namespace = uniqueNamespace('e2e');
let work: string;
let spyBus: Bus;
let spy: Subscription;
/** Every bus message of the run, as text: envelope JSON and headers (payloads are weights). */
const wireText: string[] = [];
let redisKeys: string[] = [];
let checkpointValues: string[] = [];
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
  const synth = await runCli(cli.fedpet, ['synth', '--kind', 'tabular', '--out', join(work, 'data')]);
  assert.equal(synth.code, 0, synth.stderr);
  spyBus = await createBus(testUrls.amqp, { namespace, clientName: 'privacy-spy' });
  spy = await spyBus.subscribe({ name: 'privacy-spy', topics: ['#'], prefetch: 64 }, async (message) => {
    const length = message.body.readUInt32BE(0);
    wireText.push(message.body.subarray(4, 4 + length).toString('utf8'), JSON.stringify(message.headers));
  });
  const run = await runCli(cli.fedpet, [
    'sandbox',
    '--namespace',
    namespace,
    '--federation',
    join(work, 'data', 'federation.yaml'),
    '--experiment',
    'examples/tabular/experiment.yaml',
    '--out',
    join(work, 'out'),
  ]);
  assert.equal(run.code, 0, `sandbox failed:\n${run.stdout}\n${run.stderr}`);
  results = JSON.parse(await readFile(join(work, 'out', 'results.json'), 'utf8'));
  const redis = await connectRedis(testUrls.redis);
  redisKeys = await redis.keys(`${namespace}:*`);
  checkpointValues = await Promise.all(
    redisKeys
      .filter((key) => /:checkpoint:[a-z0-9-]+$/.test(key))
      .map(async (key) => (await redis.get(key)) ?? ''),
  );
  redis.disconnect();
});

after(async () => {
  await spy?.close();
  if (spyBus) {
    await spyBus.deleteSubscription('privacy-spy');
    const redis = await connectRedis(testUrls.redis);
    await removeNamespace({ bus: spyBus, redis, redisUrl: testUrls.redis, namespace, hospitals });
    redis.disconnect();
    await spyBus.close();
  }
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
  // Falls overall, and never rises by more than noise (1%) from one evaluation to the next.
  assert.ok(losses.at(-1)! < 0.7 * losses[0]!, `validation loss did not fall: ${losses.join(', ')}`);
  for (let i = 1; i < losses.length; i++) {
    assert.ok(
      losses[i]! < losses[i - 1]! * 1.01,
      `validation loss rose between evaluations ${i - 1} and ${i}: ${losses.join(', ')}`,
    );
  }
});

test('the federated model ends within 5% of the same model trained centrally on the pooled data', async (t) => {
  const spec = await loadExperimentSpec('examples/tabular/experiment.yaml');
  const tabularPlan = spec.plan;
  if (tabularPlan.kind !== 'tabular-mlp') throw new Error('the tabular example has a tabular-mlp plan');
  await selectBackend('wasm');
  const splits = await Promise.all(
    hospitals.map(async (hospital) =>
      splitTrainValidation(
        await loadTabularCsv(join(work, 'data', `${hospital}.csv`), tabularPlan),
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
  const centralLoss = (await evaluate(central, pooledValidation, spec.plan)).loss!;
  const federated = await loadModel(join(work, 'out', 'model'));
  const federatedLoss = (await evaluate(federated, pooledValidation, spec.plan)).loss!;

  // The aggregator's own final evaluation is the same figure, computed at the hospitals.
  assert.ok(Math.abs(results.finalEvaluation.metrics.valLoss! - federatedLoss) < 1e-4);
  const gap = (federatedLoss - centralLoss) / centralLoss;
  t.diagnostic(
    `validation loss: federated ${federatedLoss.toFixed(4)}, central ${centralLoss.toFixed(4)}, gap ${(gap * 100).toFixed(2)}%`,
  );
  assert.ok(
    Math.abs(gap) <= 0.05,
    `federated validation loss ${federatedLoss.toFixed(4)} vs central ${centralLoss.toFixed(4)} (${(gap * 100).toFixed(1)}%)`,
  );
});

test('no data value leaves a trainer: not on the bus, not in any log line, not in a Redis key', async () => {
  const dataValues = new Set<string>();
  for (const hospital of hospitals) {
    const [, ...rows] = (await readFile(join(work, 'data', `${hospital}.csv`), 'utf8')).trim().split('\n');
    for (const row of rows) for (const cell of row.split(',')) if (cell.includes('.')) dataValues.add(cell);
  }
  assert.ok(dataValues.size > 1000);
  const leaks = (text: string) => (text.match(/-?\d+\.\d+/g) ?? []).filter((token) => dataValues.has(token));
  assert.ok(wireText.length > 50, `the spy saw ${wireText.length} frames`);
  assert.deepEqual(wireText.flatMap(leaks), [], 'a data value travelled on the bus');
  for (const log of ['aggregator', ...hospitals.map((hospital) => `trainer-${hospital}`)]) {
    const text = await readFile(join(work, 'out', 'logs', `${log}.log`), 'utf8');
    assert.deepEqual(leaks(text), [], `a data value is in ${log}.log`);
  }
  assert.ok(redisKeys.length > 0);
  for (const key of redisKeys) {
    assert.match(
      key,
      /^e2e-[0-9a-f]+:(blob:[0-9a-f]{64}(:\d+|:meta)?|bull:[a-z0-9.-]+(:[A-Za-z0-9.-]+)*|checkpoint:[a-z0-9-]+(:runs|:round:\d+:updates(:[a-z0-9-]+:[0-9a-f-]{36})?)?)$/,
      key,
    );
  }
  // The aggregator's checkpoint holds round records (aggregate metrics), model hashes and counters.
  assert.equal(checkpointValues.length, 1, 'one experiment, one checkpoint');
  for (const value of checkpointValues)
    assert.deepEqual(leaks(value), [], 'a data value is in the checkpoint');
});
