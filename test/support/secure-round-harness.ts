import { RoundCollector, type RoundReport } from '../../services/aggregator/src/round-collector.ts';
import { collectSecureRound, SecureRound } from '../../services/aggregator/src/secure-round.ts';
import { UpdateInbox } from '../../services/aggregator/src/update-inbox.ts';
import { SecaggMailbox } from '../../services/trainer/src/secagg-mailbox.ts';
import { type DeliveredUpdate, deliverUpdate } from '../../services/trainer/src/update-protection.ts';
import { encodeTensors } from '../../shared/src/codec/tensor-codec.ts';
import { encodeMessage } from '../../shared/src/contracts/frame.ts';
import type { RoundJob } from '../../shared/src/contracts/jobs.ts';
import type { SecaggBody } from '../../shared/src/contracts/messages.ts';
import { createLogger, type Logger } from '../../shared/src/log/logger.ts';
import { fixedPointOf, updateProtectionFor } from '../../shared/src/secagg/round-parameters.ts';
import { openSealed } from '../../shared/src/secagg/sealed-box.ts';
import { SecaggServer, type SecureAggregate } from '../../shared/src/secagg/server-round.ts';
import { FrameVerifier } from '../../shared/src/security/frame-signing.ts';
import { generateKeySet, type KeySet } from '../../shared/src/security/key-files.ts';
import type { Bus } from '../../shared/src/transport/bus.ts';
import { consumeEnvelopes } from '../../shared/src/transport/consume.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';
import { SigningBus } from '../../shared/src/transport/signing-bus.ts';
import { Topics } from '../../shared/src/transport/topics.ts';
import { testUrls, uniqueNamespace } from './unique.ts';

/**
 * One training round through the real RabbitMQ, with the aggregator's own
 * collection code (UpdateInbox, RoundCollector, SecureRound) and each
 * hospital's own update path (deliverUpdate), every message signed and
 * verified — in one process, so tests and benchmarks can make hospitals
 * "crash" at a chosen protocol step and measure every phase.
 */
const quietLogger = createLogger({ service: 'secure-round-harness', level: 'error' });

export type CrashPoint = 'offline' | 'before-share-keys' | 'before-masked-input' | 'before-unmask';

/** A bus that publishes until the hospital "crashes" at `point`, then drops everything; it counts bytes sent. */
function instrumentedBus(inner: Bus, point: CrashPoint | undefined, sent: { bytes: number }): Bus {
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
        sent.bytes += body.byteLength;
        await target.publish(topic, body, headers);
      };
    },
  });
}

export function hospitalValues(index: number, parameters: number): Float32Array {
  const values = new Float32Array(parameters);
  for (let i = 0; i < parameters; i++) values[i] = Math.sin(index * 7.1 + i * 0.013) * (1 + index / 3);
  return values;
}

export const hospitalSamples = (index: number): number => 50 + 17 * index;

export interface RoundScenario {
  hospitals: number;
  parameters: number;
  mode: 'secagg' | 'sealed';
  crashes?: Record<string, CrashPoint>;
  phaseTimeoutMs?: number;
  roundTimeoutMs?: number;
  /** Replaces the harness's quiet logger (e.g. to read what the inbox logs). */
  logger?: Logger;
  /** Wraps the bus each party consumes from ('aggregator' or a hospital id), e.g. to see how every delivery settles. */
  wrapConsumerBus?: (party: string, bus: Bus) => Bus;
  /**
   * Called once every consumer is up and the round is open, just before the
   * hospitals start (e.g. to publish extra traffic while the round runs). The
   * function it resolves to is awaited after the round, before the buses close.
   */
  inject?: (context: RoundInjection) => Promise<() => Promise<void>>;
}

/** What `RoundScenario.inject` gets: the round's identity, keys, verifiers and collection objects. */
export interface RoundInjection {
  namespace: string;
  experimentId: string;
  round: number;
  ids: string[];
  keys: KeySet;
  /** Checks every frame on the aggregator's inputs (update, error, secagg-up). */
  aggregatorVerifier: FrameVerifier;
  /** Per hospital: checks every frame on its secagg-down input. */
  hospitalVerifiers: ReadonlyMap<string, FrameVerifier>;
  collector: RoundCollector;
  secure: SecureRound | undefined;
}

export interface RoundOutcome {
  ids: string[];
  aggregate?: SecureAggregate;
  report?: RoundReport;
  average?: Float32Array;
  error?: Error;
  /** What the aggregation code received from each hospital (secure aggregation: masked vectors). */
  received: { hospital: string; masked: Uint32Array }[];
  hospitals: (DeliveredUpdate | Error | undefined)[];
  /** Bytes each hospital published (envelopes and payloads). */
  bytesSent: number[];
  /** From the first job to the average, and the secure phases. */
  roundMs: number;
  phasesMs: Record<string, number>;
  /** Largest |average − plain weighted average| over the hospitals counted. */
  worstError?: number;
  counted?: string[];
}

export async function runRound(scenario: RoundScenario): Promise<RoundOutcome> {
  const { hospitals: n, parameters, mode } = scenario;
  const logger = scenario.logger ?? quietLogger;
  const consumerBus = (party: string, bus: Bus): Bus => scenario.wrapConsumerBus?.(party, bus) ?? bus;
  const crashes = scenario.crashes ?? {};
  const namespace = uniqueNamespace('round');
  const ids = Array.from({ length: n }, (_, i) => `h${i + 1}`);
  const keys = generateKeySet(ids);
  const experimentId = 'exp-round';
  const round = 1;
  const fields = { experimentId, round, sender: 'aggregator' };
  const hospitalKeys = new Map(keys.hospitals.map((h) => [h.id, h.signing.publicKey]));
  const phaseTimeoutMs = scenario.phaseTimeoutMs ?? 2000;
  const { protection } = updateProtectionFor(
    {
      enabled: mode === 'secagg',
      clip: 8,
      maxSamplesPerHospital: 1000,
      phaseTimeoutSeconds: phaseTimeoutMs / 1000,
    },
    ids,
    parameters,
  );
  const opened: Bus[] = [];
  const signal = new AbortController().signal;
  try {
    const aggregatorBus = new SigningBus(
      await createBus(testUrls.amqp, { namespace, clientName: 'aggregator' }),
      keys.aggregator.signing.privateKey,
      { sender: 'aggregator' },
    );
    opened.push(aggregatorBus);
    const inbox = new UpdateInbox(logger);
    const verifier = new FrameVerifier({ keyOf: (sender) => hospitalKeys.get(sender) });
    await consumeEnvelopes(
      consumerBus('aggregator', aggregatorBus),
      {
        name: 'aggregator.updates',
        topics: [Topics.allUpdates, Topics.allErrors, Topics.allSecaggUp],
        prefetch: 64,
      },
      ['update', 'error', 'secagg'],
      logger,
      (message) => inbox.handle(message),
      { verifier },
    );
    const secure =
      protection.mode === 'secagg'
        ? new SecureRound({
            server: new SecaggServer({
              experimentId,
              round,
              participants: protection.participants,
              threshold: protection.threshold,
              identityKeys: hospitalKeys,
              parameterCount: parameters,
              fixedPoint: fixedPointOf(protection),
            }),
            participants: protection.participants,
            publish: (hospital: string, body: SecaggBody) =>
              aggregatorBus.publish(
                Topics.secaggDown(experimentId, hospital),
                encodeMessage('secagg', fields, body),
              ),
            phaseTimeoutMs,
            logger,
            signal,
          })
        : undefined;
    const received: { hospital: string; masked: Uint32Array }[] = [];
    const collector = new RoundCollector({
      kind: 'train',
      hospitals: ids,
      parameterCount: parameters,
      protection: secure
        ? {
            mode: 'secagg',
            onMasked: (hospital, masked) => {
              if (parameters <= 100_000) received.push({ hospital, masked: masked.slice() });
              secure.receiveMasked(hospital, masked);
            },
          }
        : {
            mode: 'sealed',
            open: (sealed, hospital) =>
              openSealed(keys.aggregator.sealing.privateKey, sealed, {
                experimentId,
                round,
                sender: hospital,
                recipient: 'aggregator',
              }),
          },
    });
    inbox.openRound(experimentId, round, collector, secure);
    const deadline = new Date(Date.now() + (scenario.roundTimeoutMs ?? 5000));
    const job = (hospital: string): RoundJob => ({
      v: '1.0',
      kind: 'train',
      experimentId,
      round,
      attempt: 0,
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
    const bytesSent = ids.map(() => ({ bytes: 0 }));
    const hospitalVerifiers = new Map<string, FrameVerifier>();
    const hospitalRuns = await Promise.all(
      keys.hospitals.map(async (hospital, index) => {
        if (crashes[hospital.id] === 'offline') return undefined;
        const signing = new SigningBus(
          await createBus(testUrls.amqp, { namespace, clientName: hospital.id }),
          hospital.signing.privateKey,
          { sender: hospital.id },
        );
        opened.push(signing);
        const mailbox = new SecaggMailbox(hospital.id);
        const hospitalVerifier = new FrameVerifier({
          keyOf: (s) => (s === 'aggregator' ? keys.aggregator.signing.publicKey : undefined),
        });
        hospitalVerifiers.set(hospital.id, hospitalVerifier);
        await consumeEnvelopes(
          consumerBus(hospital.id, signing),
          { name: `${hospital.id}.secagg`, topics: [Topics.secaggDownFor(hospital.id)] },
          ['secagg'],
          logger,
          async (message) => {
            mailbox.deliver(
              message.header.experimentId,
              message.header.round,
              message.body as SecaggBody,
              message.header.attempt ?? 0,
            );
          },
          { verifier: hospitalVerifier },
        );
        const payload = encodeTensors([
          { name: 'w', shape: [parameters], values: hospitalValues(index, parameters) },
        ]);
        return { signing, mailbox, payload, index, hospital };
      }),
    );
    const finishInjection = await scenario.inject?.({
      namespace,
      experimentId,
      round,
      ids,
      keys,
      aggregatorVerifier: verifier,
      hospitalVerifiers,
      collector,
      secure,
    });
    const started = performance.now();
    const running = hospitalRuns.map((ready) => {
      if (!ready) return Promise.resolve(undefined);
      const { signing, mailbox, payload, index, hospital } = ready;
      return deliverUpdate(
        job(hospital.id),
        { experimentId, round, sender: hospital.id },
        async () => ({ numSamples: hospitalSamples(index), metrics: {}, timingsMs: {}, payload }),
        {
          bus: instrumentedBus(signing, crashes[hospital.id], bytesSent[index]!),
          hospital: hospital.id,
          identityKey: hospital.signing.privateKey,
          identityKeys: hospitalKeys,
          aggregator: { id: 'aggregator', sealingKey: keys.aggregator.sealing.publicKey },
          mailbox,
          requireSecureAggregation: mode === 'secagg',
          logger,
          signal,
        },
      ).catch((error: unknown) => error as Error);
    });
    const settle = () => Promise.all(running);
    const outcome: RoundOutcome = {
      ids,
      received,
      hospitals: [],
      bytesSent: [],
      roundMs: 0,
      phasesMs: {},
    };
    try {
      let counted: string[];
      if (secure) {
        const { report, aggregate } = await collectSecureRound(secure, collector, ids, deadline, signal);
        outcome.aggregate = aggregate;
        outcome.report = report;
        outcome.average = aggregate.average;
        outcome.phasesMs = secure.trace.phasesMs;
        counted = aggregate.survivors;
      } else {
        const report = await collector.wait(deadline, signal);
        outcome.report = report;
        outcome.average = report.average;
        counted = report.outcomes.filter((o) => o.status === 'ok').map((o) => o.hospital);
      }
      outcome.roundMs = performance.now() - started;
      outcome.counted = counted;
      // The expected weighted average over the hospitals counted, from the plain values (here only).
      const expected = new Float64Array(parameters);
      let total = 0;
      ids.forEach((id, index) => {
        if (!counted.includes(id)) return;
        const values = hospitalValues(index, parameters);
        for (let i = 0; i < parameters; i++) expected[i]! += values[i]! * hospitalSamples(index);
        total += hospitalSamples(index);
      });
      let worst = 0;
      for (let i = 0; i < parameters; i++) {
        worst = Math.max(worst, Math.abs(outcome.average![i]! - expected[i]! / total));
      }
      outcome.worstError = worst;
    } catch (error) {
      outcome.error = error as Error;
    }
    outcome.hospitals = await settle();
    outcome.bytesSent = bytesSent.map((b) => b.bytes);
    await finishInjection?.();
    return outcome;
  } finally {
    await opened[0]?.removeNamespace().catch(() => {});
    await Promise.allSettled(opened.map((bus) => bus.close()));
  }
}
