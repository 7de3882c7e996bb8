import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { removeNamespace } from '../../services/researcher/src/namespace-cleanup.ts';
import { connectRedis } from '../../shared/src/service/connect-redis.ts';
import type { Bus, Subscription } from '../../shared/src/transport/bus.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';
import { cli, runCli } from '../support/run-cli.ts';
import { writeSmallPetCohort } from '../support/small-pet-cohort.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

/**
 * The PET-CT path end to end, as separate processes on the real brokers:
 * `fedpet synth` writes DICOM and clinical CSVs for two hospitals, `fedpet
 * sandbox` registers each hospital's dataset in its own registry (DICOM →
 * SUV → radiomics, cached), starts the aggregator and the trainers, and runs
 * the demo experiment. Nothing identifying may leave a hospital: no patient
 * pseudonym, DICOM UID or acquisition date on the bus, in a service log or in
 * a Redis key.
 */
const hospitals = ['h1', 'h2'];
const namespace = uniqueNamespace('e2e-pet');
let work: string;
let spyBus: Bus;
let spy: Subscription;
const wireText: string[] = [];
let redisKeys: string[] = [];
let sandboxOutput = '';
let secondOutput = '';
let results: {
  status: string;
  rounds: { round: number; hospitals: { hospital: string; status: string; numSamples: number }[] }[];
  finalEvaluation: { metrics: Record<string, number> };
};

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-e2e-pet-'));
  const data = join(work, 'data');
  await writeSmallPetCohort(data, { patients: [7, 9], seed: 5 });
  const spec = parse(await readFile('examples/demo/experiment.yaml', 'utf8'));
  await writeFile(
    join(work, 'experiment.yaml'),
    stringify({ ...spec, hospitals, rounds: 2, validationFraction: 0.3 }),
  );
  spyBus = await createBus(testUrls.amqp, { namespace, clientName: 'pet-privacy-spy' });
  spy = await spyBus.subscribe({ name: 'pet-privacy-spy', topics: ['#'], prefetch: 64 }, async (message) => {
    const length = message.body.readUInt32BE(0);
    wireText.push(message.body.subarray(4, 4 + length).toString('utf8'), JSON.stringify(message.headers));
  });
  const sandbox = (out: string) =>
    runCli(
      cli.fedpet,
      [
        'sandbox',
        '--namespace',
        namespace,
        '--federation',
        join(data, 'federation.yaml'),
        '--experiment',
        join(work, 'experiment.yaml'),
        '--out',
        join(work, out),
      ],
      { timeoutMs: 240_000 },
    );
  const first = await sandbox('out');
  assert.equal(first.code, 0, `sandbox failed:\n${first.stdout}\n${first.stderr}`);
  sandboxOutput = first.stdout;
  results = JSON.parse(await readFile(join(work, 'out', 'results.json'), 'utf8'));
  const redis = await connectRedis(testUrls.redis);
  redisKeys = await redis.keys(`${namespace}:*`);
  redis.disconnect();
  // A second run on the same data: each hospital's registry finds its cache.
  const second = await sandbox('out2');
  assert.equal(second.code, 0, `second sandbox failed:\n${second.stdout}\n${second.stderr}`);
  secondOutput = second.stdout;
});

after(async () => {
  await spy?.close();
  if (spyBus) {
    await spyBus.deleteSubscription('pet-privacy-spy');
    const redis = await connectRedis(testUrls.redis);
    await removeNamespace({ bus: spyBus, redis, redisUrl: testUrls.redis, namespace, hospitals });
    redis.disconnect();
    await spyBus.close();
  }
  if (work) await rm(work, { recursive: true, force: true });
});

test('both PET-CT hospitals train on their own DICOM-derived features in every round', () => {
  assert.equal(results.status, 'completed');
  assert.equal(results.rounds.length, 2);
  for (const round of results.rounds) {
    assert.deepEqual(
      round.hospitals.map((hospital) => [hospital.hospital, hospital.status]),
      hospitals.map((hospital) => [hospital, 'ok']),
    );
    assert.ok(round.hospitals.every((hospital) => hospital.numSamples > 0));
  }
  assert.ok(Number.isFinite(results.finalEvaluation.metrics.valLoss));
  assert.match(sandboxOutput, /h1: pet-ct dataset "petct": 7 patients, 7 usable/);
  assert.match(sandboxOutput, /h2: pet-ct dataset "petct": 9 patients, 9 usable/);
  assert.match(sandboxOutput, /h1 ready: backend \w+, datasets petct \(7 patients, (<5|\d+) events\)/);
});

test('DICOM is parsed once per dataset version: the second run reuses every hospital cache', () => {
  assert.match(secondOutput, /h1: .*preprocessing reused from the cache/);
  assert.match(secondOutput, /h2: .*preprocessing reused from the cache/);
});

test('node status shares counts, shapes and tags only, with small counts as "<5"', () => {
  const statuses = wireText
    .filter((text) => text.includes('"node.status"'))
    .map((text) => JSON.parse(text) as { body: { datasets: Record<string, unknown>[] } });
  assert.ok(statuses.length >= 2);
  for (const status of statuses) {
    const [dataset] = status.body.datasets;
    assert.deepEqual(Object.keys(dataset!).sort(), [
      'columns',
      'events',
      'kind',
      'name',
      'rows',
      'shapes',
      'tags',
    ]);
    assert.equal(dataset!.kind, 'pet-ct');
    assert.ok(dataset!.rows === '<5' || (typeof dataset!.rows === 'number' && dataset!.rows >= 5));
    assert.ok(dataset!.events === '<5' || (typeof dataset!.events === 'number' && dataset!.events >= 5));
  }
});

test('no patient pseudonym, DICOM UID or acquisition date leaves a hospital', async () => {
  // What identifies a synthetic patient: the pseudonyms, the study dates and the UIDs' root.
  const clinical = await readFile(join(work, 'data', 'h1', 'clinical.csv'), 'utf8');
  assert.match(clinical, /SYN-H1-0001/);
  const identifying = /SYN-H\d|2\.25\.\d{6}|\b(19|20)\d{2}(0[1-9]|1[0-2])([0-2]\d|3[01])\b/;
  assert.ok(wireText.length > 20, `the spy saw ${wireText.length} frames`);
  const onWire = wireText.filter((text) => identifying.test(text));
  assert.deepEqual(onWire, [], 'an identifier travelled on the bus');
  const logs = (await readdir(join(work, 'out', 'logs'))).filter(
    (name) => name.startsWith('trainer-') || name === 'aggregator.log',
  );
  assert.equal(logs.length, 3);
  for (const log of logs) {
    const text = await readFile(join(work, 'out', 'logs', log), 'utf8');
    assert.ok(!/SYN-H\d|2\.25\.\d{6}/.test(text), `an identifier is in ${log}`);
  }
  assert.ok(redisKeys.length > 0);
  assert.deepEqual(
    redisKeys.filter((key) => identifying.test(key)),
    [],
    'an identifier is in a Redis key',
  );
});
