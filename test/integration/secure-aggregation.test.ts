import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RoundCollector } from '../../services/aggregator/src/round-collector.ts';
import { collectSecureRound, SecureRound } from '../../services/aggregator/src/secure-round.ts';
import { UpdateInbox } from '../../services/aggregator/src/update-inbox.ts';
import { SecaggMailbox } from '../../services/trainer/src/secagg-mailbox.ts';
import { deliverUpdate } from '../../services/trainer/src/update-protection.ts';
import { encodeTensors } from '../../shared/src/codec/tensor-codec.ts';
import { encodeMessage } from '../../shared/src/contracts/frame.ts';
import type { RoundJob } from '../../shared/src/contracts/jobs.ts';
import type { SecaggBody } from '../../shared/src/contracts/messages.ts';
import { createLogger } from '../../shared/src/log/logger.ts';
import { fixedPointOf, updateProtectionFor } from '../../shared/src/secagg/round-parameters.ts';
import { SecaggServer } from '../../shared/src/secagg/server-round.ts';
import { FrameVerifier } from '../../shared/src/security/frame-signing.ts';
import { generateKeySet } from '../../shared/src/security/key-files.ts';
import type { Bus } from '../../shared/src/transport/bus.ts';
import { consumeEnvelopes } from '../../shared/src/transport/consume.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';
import { SigningBus } from '../../shared/src/transport/signing-bus.ts';
import { Topics } from '../../shared/src/transport/topics.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

/**
 * Secure aggregation over the real RabbitMQ: the aggregator's protocol driver
 * and round collector, and each hospital's real update path (deliverUpdate),
 * every message signed and verified. Hospitals "crash" at each phase — their
 * bus silently swallows everything from a given protocol step on, as a dead
 * process would — and the round must still produce the survivors' weighted
 * average, within the fixed-point bound, while at least t remain.
 */
const PARAMETERS = 2000;
const logger = createLogger({ service: 'test', level: 'error' });
const opened: Bus[] = [];

after(async () => {
  await Promise.allSettled(opened.map((bus) => bus.close()));
});

type CrashPoint = 'offline' | 'before-share-keys' | 'before-masked-input' | 'before-unmask';

/** A bus that publishes until the hospital "crashes" at `point`, then drops everything. */
function crashingBus(inner: Bus, point: CrashPoint | undefined): Bus {
  let dead = false;
  const stepOf = (frame: Uint8Array): string => {
    const buffer = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    const envelope = JSON.parse(buffer.subarray(4, 4 + buffer.readUInt32BE(0)).toString('utf8'));
    return envelope.type === 'secagg' ? envelope.body.step : envelope.type;
  };
  const crashesAt: Record<CrashPoint, string> = {
    offline: 'advertise-keys',
    'before-share-keys': 'share-keys',
    'before-masked-input': 'update',
    'before-unmask': 'unmask-response',
  };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property !== 'publish') return Reflect.get(target, property, receiver);
      return async (topic: string, body: Uint8Array, headers?: Record<string, string>) => {
        if (point && stepOf(body) === crashesAt[point]) dead = true;
        if (dead) return;
        await target.publish(topic, body, headers);
      };
    },
  });
}

function hospitalValues(index: number): Float32Array {
  const values = new Float32Array(PARAMETERS);
  for (let i = 0; i < PARAMETERS; i++) values[i] = Math.sin(index * 7.1 + i * 0.013) * (1 + index / 3);
  return values;
}

interface Scenario {
  hospitals: number;
  crashes: Record<string, CrashPoint>;
}

async function runScenario({ hospitals: n, crashes }: Scenario) {
  const namespace = uniqueNamespace('secagg');
  const ids = Array.from({ length: n }, (_, i) => `h${i + 1}`);
  const keys = generateKeySet(ids);
  const experimentId = 'exp-secagg';
  const round = 1;
  const fields = { experimentId, round, sender: 'aggregator' };
  const hospitalKeys = new Map(keys.hospitals.map((h) => [h.id, h.signing.publicKey]));
  const { protection } = updateProtectionFor(
    { enabled: true, clip: 8, maxSamplesPerHospital: 1000, phaseTimeoutSeconds: 2 },
    ids,
    PARAMETERS,
  );
  assert.equal(protection.mode, 'secagg');
  if (protection.mode !== 'secagg') throw new Error('unreachable');

  // The aggregator.
  const aggregatorBus = new SigningBus(
    await createBus(testUrls.amqp, { namespace, clientName: 'aggregator' }),
    keys.aggregator.signing.privateKey,
    { sender: 'aggregator' },
  );
  opened.push(aggregatorBus);
  const inbox = new UpdateInbox(logger);
  const verifier = new FrameVerifier({ keyOf: (sender) => hospitalKeys.get(sender) });
  await consumeEnvelopes(
    aggregatorBus,
    { name: 'aggregator.updates', topics: [Topics.allUpdates, Topics.allErrors, Topics.allSecaggUp] },
    ['update', 'error', 'secagg'],
    logger,
    (message) => inbox.handle(message),
    { verifier },
  );
  const signal = new AbortController().signal;
  const secure = new SecureRound({
    server: new SecaggServer({
      experimentId,
      round,
      participants: protection.participants,
      threshold: protection.threshold,
      identityKeys: hospitalKeys,
      parameterCount: PARAMETERS,
      fixedPoint: fixedPointOf(protection),
    }),
    participants: protection.participants,
    publish: (hospital: string, body: SecaggBody) =>
      aggregatorBus.publish(Topics.secaggDown(experimentId, hospital), encodeMessage('secagg', fields, body)),
    phaseTimeoutMs: 2000,
    logger,
    signal,
  });
  const received: { hospital: string; masked: Uint32Array }[] = [];
  const collector = new RoundCollector({
    kind: 'train',
    hospitals: ids,
    parameterCount: PARAMETERS,
    protection: {
      mode: 'secagg',
      onMasked: (hospital, masked) => {
        received.push({ hospital, masked: masked.slice() });
        secure.receiveMasked(hospital, masked);
      },
    },
  });
  inbox.openRound(experimentId, round, collector, secure);
  const deadline = new Date(Date.now() + 5000);

  // The hospitals, each with its own connection, signing key and mailbox.
  const job = (hospital: string): RoundJob => ({
    v: '1.0',
    kind: 'train',
    experimentId,
    round,
    hospital,
    plan: {
      kind: 'tabular-mlp',
      task: 'regression',
      features: ['x'],
      label: 'y',
      hiddenUnits: [],
      activation: 'relu',
      scaling: {},
    },
    dataset: 'd',
    hyperparameters: { localEpochs: 1, batchSize: 1, learningRate: 0.1, optimizer: 'sgd' },
    seed: 1,
    validationFraction: 0,
    model: { sha256: '0'.repeat(64), bytes: 0 },
    deadline: deadline.toISOString(),
    protection,
    trace: {},
  });
  const samples = (index: number) => 50 + 17 * index;
  const hospitalRuns = await Promise.all(
    keys.hospitals.map(async (hospital, index) => {
      if (crashes[hospital.id] === 'offline') return undefined;
      const signing = new SigningBus(
        await createBus(testUrls.amqp, { namespace, clientName: hospital.id }),
        hospital.signing.privateKey,
        { sender: hospital.id },
      );
      opened.push(signing);
      const mailbox = new SecaggMailbox();
      await consumeEnvelopes(
        signing,
        { name: `${hospital.id}.secagg`, topics: [Topics.secaggDownFor(hospital.id)] },
        ['secagg'],
        logger,
        async (message) => {
          mailbox.deliver(message.header.experimentId, message.header.round, message.body as SecaggBody);
        },
        {
          verifier: new FrameVerifier({
            keyOf: (s) => (s === 'aggregator' ? keys.aggregator.signing.publicKey : undefined),
          }),
        },
      );
      const bus = crashingBus(signing, crashes[hospital.id]);
      // Wrapped so that Promise.all waits for the connections, not for the whole protocol.
      const running = deliverUpdate(
        job(hospital.id),
        { experimentId, round, sender: hospital.id },
        async () => ({
          numSamples: samples(index),
          metrics: {},
          timingsMs: {},
          payload: encodeTensors([{ name: 'w', shape: [PARAMETERS], values: hospitalValues(index) }]),
        }),
        {
          bus,
          hospital: hospital.id,
          identityKey: hospital.signing.privateKey,
          identityKeys: hospitalKeys,
          aggregator: { id: 'aggregator', sealingKey: keys.aggregator.sealing.publicKey },
          mailbox,
          requireSecureAggregation: true,
          logger,
          signal,
        },
      ).catch((error: unknown) => error as Error);
      return { running };
    }),
  );
  const hospitalsSettled = Promise.all(hospitalRuns.map((run) => run?.running));
  try {
    const { aggregate } = await collectSecureRound(secure, collector, ids, deadline, signal);
    // The expected average over the survivors (U3), computed from the plain values only here.
    const expected = new Float64Array(PARAMETERS);
    let total = 0;
    ids.forEach((id, index) => {
      if (!aggregate.survivors.includes(id)) return;
      const values = hospitalValues(index);
      for (let i = 0; i < PARAMETERS; i++) expected[i]! += values[i]! * samples(index);
      total += samples(index);
    });
    let worst = 0;
    for (let i = 0; i < PARAMETERS; i++) {
      worst = Math.max(worst, Math.abs(aggregate.average[i]! - expected[i]! / total));
    }
    return { aggregate, worst, total, received, hospitals: await hospitalsSettled };
  } catch (error) {
    return { error: error as Error, received, hospitals: await hospitalsSettled };
  } finally {
    await aggregatorBus.removeNamespace().catch(() => {});
  }
}

describe('secure aggregation over RabbitMQ', () => {
  test('no dropout: the unmasked average is the weighted FedAvg within the fixed-point bound', async () => {
    const result = await runScenario({ hospitals: 5, crashes: {} });
    assert.ok('aggregate' in result && result.aggregate, String((result as { error?: Error }).error));
    assert.deepEqual(result.aggregate.survivors, ['h1', 'h2', 'h3', 'h4', 'h5']);
    assert.equal(result.aggregate.totalSamples, result.total);
    assert.ok(result.worst <= result.aggregate.errorBound + 1e-5, `error ${result.worst}`);
    // What the aggregation code received from each hospital is a masked vector, far from its values.
    assert.equal(result.received.length, 5);
    for (const { masked } of result.received) {
      const asInt = new Int32Array(masked.buffer, masked.byteOffset, 10);
      assert.ok(
        asInt.some((word) => Math.abs(word) > 2 ** 24),
        'masked words look like noise',
      );
    }
    for (const hospital of result.hospitals) {
      assert.ok(hospital && !(hospital instanceof Error) && hospital.protection === 'secagg');
    }
  });

  for (const point of ['offline', 'before-share-keys', 'before-masked-input', 'before-unmask'] as const) {
    for (const dropped of [1, 2]) {
      test(`${dropped} of 5 hospitals drop ${point} (t = 3): the round completes`, async () => {
        const crashes = Object.fromEntries(['h2', 'h4'].slice(0, dropped).map((id) => [id, point] as const));
        const result = await runScenario({ hospitals: 5, crashes });
        assert.ok('aggregate' in result && result.aggregate, String((result as { error?: Error }).error));
        const gone = Object.keys(crashes);
        if (point === 'before-unmask') {
          // Their masked inputs are in the sum: they are survivors whose self-masks the others rebuild.
          assert.deepEqual(result.aggregate.survivors, ['h1', 'h2', 'h3', 'h4', 'h5']);
        } else {
          for (const id of gone)
            assert.ok(!result.aggregate.survivors.includes(id), `${id} is not a survivor`);
        }
        assert.ok(result.worst <= result.aggregate.errorBound + 1e-5, `error ${result.worst}`);
      });
    }
  }

  test('fewer than t hospitals left: a clear error, nothing reconstructed, every hospital told', async () => {
    const result = await runScenario({
      hospitals: 5,
      crashes: { h1: 'before-share-keys', h2: 'before-share-keys', h3: 'before-share-keys' },
    });
    assert.ok('error' in result && result.error);
    assert.match(result.error.message, /3|threshold|t =/i);
    assert.equal((result.error as { code?: string }).code, 'SECAGG_THRESHOLD_NOT_MET');
    assert.equal(result.received.length, 0, 'no masked input was ever folded');
    const survivors = result.hospitals.filter((outcome) => outcome instanceof Error) as Error[];
    assert.ok(
      survivors.some((error) => /ended the secure round/.test(error.message)),
      'the remaining hospitals were told the round ended',
    );
  });
});
