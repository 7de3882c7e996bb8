import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RedisBlobStore } from '@fedpet/shared/blob/redis-blob-store';
import type { CommonConfig } from '@fedpet/shared/config/env-reader';
import type { NodeStatus } from '@fedpet/shared/contracts/messages';
import { loadExperimentSpec } from '@fedpet/shared/contracts/spec-loader';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { EXPERIMENTS_QUEUE, openQueue } from '@fedpet/shared/jobs/queues';
import type { Logger } from '@fedpet/shared/log/logger';
import { updateProtectionFor } from '@fedpet/shared/secagg/round-parameters';
import { generateKeySet, privateKeyFileName, writeKeySet } from '@fedpet/shared/security/key-files';
import { connectRedis } from '@fedpet/shared/service/connect-redis';
import { consumeEnvelopes } from '@fedpet/shared/transport/consume';
import { createBus } from '@fedpet/shared/transport/create-bus';
import { Topics } from '@fedpet/shared/transport/topics';
import { type ManagedChild, serviceEntries, startChild, stopChild, tailLog } from './child-processes.ts';
import { sandboxReport } from './compare/report-from-results.ts';
import { checkExperimentFits, loadFederation } from './federation.ts';
import { removeNamespace } from './namespace-cleanup.ts';
import { createProgressView, type ProgressView } from './progress-view.ts';
import { watchProgress } from './progress-watch.ts';
import { registerPetCtDatasets } from './register-datasets.ts';
import { writeReport } from './report/write-report.ts';
import { writeResults } from './results-writer.ts';
import { newExperimentId, submitExperiment } from './submit.ts';
import { printSummary } from './summary.ts';

export interface SandboxOptions {
  federationPath: string;
  experimentPath: string;
  outDirectory: string;
  /** Reuse a namespace (kept afterwards); by default a fresh one is made and removed at the end. */
  namespace: string | undefined;
  /** Overrides the experiment's secureAggregation.enabled (each update is then sealed to the aggregator). */
  secureAggregation?: boolean;
  readyTimeoutMs: number;
  common: CommonConfig;
  logger: Logger;
  signal: AbortSignal;
}

/**
 * A whole federation on this machine: one aggregator process and one
 * trainer process per hospital (each with its own datasets), talking through
 * the configured brokers exactly as a deployment does. Returns the exit code.
 */
export async function runSandbox(options: SandboxOptions): Promise<number> {
  const out = process.stdout;
  const federation = await loadFederation(options.federationPath);
  const loaded = await loadExperimentSpec(options.experimentPath);
  const spec =
    options.secureAggregation === undefined
      ? loaded
      : { ...loaded, secureAggregation: { ...loaded.secureAggregation, enabled: options.secureAggregation } };
  checkExperimentFits(federation, spec, options.experimentPath);
  const namespace = options.namespace ?? `sandbox-${randomBytes(4).toString('hex')}`;
  const outDirectory = resolve(options.outDirectory);
  const logDirectory = join(outDirectory, 'logs');
  await mkdir(logDirectory, { recursive: true });

  const bus = await createBus(options.common.busUrl, { namespace, clientName: 'sandbox' });
  const redis = await connectRedis(options.common.redisUrl);
  const blobs = new RedisBlobStore(redis, { prefix: namespace });
  const experiments = openQueue(EXPERIMENTS_QUEUE, options.common.redisUrl, namespace);
  const experimentId = newExperimentId(spec);
  const children: ManagedChild[] = [];
  const ready = new Set<string>();
  let onReady = () => {};
  const statusName = `sandbox.status.${randomBytes(3).toString('hex')}`;
  const status = await consumeEnvelopes(
    bus,
    { name: statusName, topics: [Topics.allStatus] },
    ['node.status'],
    options.logger,
    async (message) => {
      const body = message.body as NodeStatus;
      if (body.state === 'ready' && !ready.has(body.hospital)) {
        ready.add(body.hospital);
        out.write(
          `  ${body.hospital} ready: backend ${body.capabilities.backend}${(body.capabilities.trainThreads ?? 1) > 1 ? ` on ${body.capabilities.trainThreads} threads` : ''}, datasets ${body.datasets.map((d) => `${d.name} (${d.rows} ${d.kind === 'pet-ct' ? 'patients' : 'rows'}${d.events !== undefined ? `, ${d.events} events` : ''})`).join(', ')}\n`,
        );
        onReady();
      }
    },
  );
  const view = createProgressView(out, experimentId, spec.hospitals, spec.rounds);
  const watch = await watchProgress(bus, experimentId, options.logger, (event, round) =>
    view.show(event, round),
  );

  try {
    out.write(
      `sandbox ${federation.name}: namespace ${namespace}, bus ${bus.kind}, logs in ${logDirectory}\n`,
    );
    const env = {
      ...process.env,
      FEDPET_BUS_URL: options.common.busUrl,
      FEDPET_REDIS_URL: options.common.redisUrl,
      FEDPET_NAMESPACE: namespace,
    };
    await registerPetCtDatasets(
      federation,
      spec.hospitals,
      logDirectory,
      env,
      (line) => out.write(`${line}\n`),
      options.signal,
    );
    if (options.signal.aborted) return interrupted(out, view);
    // A fresh key set per run: every party signs its messages, updates are masked or sealed.
    const keyDirectory = join(outDirectory, 'keys');
    const keySet = await writeKeySet(keyDirectory, generateKeySet(federation.hospitals.map((h) => h.id)), {
      force: true,
    });
    const federationKeys = ['--federation-keys', keySet.publicFile];
    const keyFile = (id: string) => ['--identity', join(keyDirectory, privateKeyFileName(id))];
    const protection = updateProtectionFor(spec.secureAggregation, spec.hospitals, 1);
    const updates =
      spec.plan.kind === 'exact-cox'
        ? 'exact Cox terms sealed to the aggregator (float64; not secure-aggregated)'
        : protection.protection.mode === 'secagg'
          ? `masked (${protection.reason}, threshold ${protection.protection.threshold})`
          : `sealed to the aggregator (${protection.reason})`;
    out.write(`  updates: ${updates}; every message signed (keys in ${keyDirectory})\n`);
    children.push(
      startChild(
        'aggregator',
        serviceEntries.aggregator,
        [...keyFile('aggregator'), ...federationKeys],
        env,
        join(logDirectory, 'aggregator.log'),
      ),
    );
    for (const id of spec.hospitals) {
      const hospital = federation.hospitals.find((candidate) => candidate.id === id)!;
      const args = ['--hospital', id, '--workers', String(hospital.workers)];
      args.push('--data-dir', hospital.dataDir!, ...keyFile(id), ...federationKeys);
      if (hospital.requireSecureAggregation) args.push('--require-secure-aggregation');
      for (const [name, dataset] of Object.entries(hospital.datasets)) {
        if (typeof dataset === 'string') args.push('--dataset', `${name}=${dataset}`);
      }
      if (hospital.backend) args.push('--backend', hospital.backend);
      children.push(
        startChild(
          `trainer ${id}`,
          serviceEntries.trainer,
          args,
          env,
          join(logDirectory, `trainer-${id}.log`),
        ),
      );
    }
    const childFailure = firstUnexpectedExit(children);
    const aborted = new Promise<'aborted'>((resolveAbort) =>
      options.signal.addEventListener('abort', () => resolveAbort('aborted'), { once: true }),
    );

    const allReady = new Promise<void>((resolveReady) => {
      onReady = () => spec.hospitals.every((id) => ready.has(id)) && resolveReady();
    });
    const readyTimeout = delay(options.readyTimeoutMs).then(() => 'timeout' as const);
    const started = await Promise.race([
      allReady.then(() => 'ready' as const),
      childFailure,
      aborted,
      readyTimeout,
    ]);
    if (started === 'timeout') {
      const missing = spec.hospitals.filter((id) => !ready.has(id));
      throw new FedpetError(
        ErrorCodes.brokerUnavailable,
        `trainers not ready after ${options.readyTimeoutMs / 1000} s: ${missing.join(', ')} (see ${logDirectory})`,
      );
    }
    if (started === 'aborted') return interrupted(out, view);
    if (typeof started === 'object') throw started;

    await submitExperiment(experiments, spec, experimentId);
    out.write(`submitted ${experimentId}: ${spec.rounds} rounds over ${spec.hospitals.join(', ')}\n`);
    const end = await Promise.race([watch.ended, childFailure, aborted]);
    view.close();
    if (end === 'aborted') return interrupted(out, view);
    if (end instanceof Error) throw end;
    // The failure event goes out before the job stores its results: give it a moment to finish.
    let job = await experiments.getJob(experimentId);
    for (let wait = 0; end.status === 'failed' && !job?.returnvalue?.results && wait < 50; wait++) {
      await delay(100);
      job = await experiments.getJob(experimentId);
    }
    if (end.status === 'failed') {
      out.write(`experiment ${experimentId} failed: ${end.event.code}: ${end.event.reason}\n`);
      const resultsRef = job?.returnvalue?.results;
      if (resultsRef) {
        const written = await writeResults(blobs, resultsRef, outDirectory);
        out.write(`results: ${written.resultsPath}\n`);
      }
      return 1;
    }
    const written = await writeResults(blobs, end.event.results, outDirectory);
    printSummary(out, written.results);
    out.write(`results: ${written.resultsPath}\n`);
    const reportPath = join(outDirectory, 'report.html');
    await writeReport(reportPath, sandboxReport(written.results, spec.name));
    out.write(`report:  ${reportPath}\n`);
    if (written.modelDirectory) out.write(`model:   ${written.modelDirectory}\n`);
    return 0;
  } finally {
    view.close();
    // Trainers first (they finish the job in hand), then the aggregator.
    await Promise.all(
      children.filter((child) => child.name !== 'aggregator').map((child) => stopChild(child)),
    );
    await Promise.all(
      children.filter((child) => child.name === 'aggregator').map((child) => stopChild(child)),
    );
    await watch.close();
    await status.close();
    await bus.deleteSubscription(statusName);
    await experiments.close();
    if (!options.namespace)
      await removeNamespace({
        bus,
        redis,
        namespace,
        redisUrl: options.common.redisUrl,
        hospitals: spec.hospitals,
      });
    await bus.close();
    redis.disconnect();
  }
}

function interrupted(out: NodeJS.WriteStream, view: ProgressView): number {
  view.close();
  out.write('interrupted: stopping the federation\n');
  return 130;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms).unref());
}

/** Resolves with an error naming the first child that exits while the sandbox still needs it. */
function firstUnexpectedExit(children: ManagedChild[]): Promise<Error> {
  return Promise.race(
    children.map(async (child) => {
      const { code, signal } = await child.exited;
      const tail = await tailLog(child.logPath);
      return new FedpetError(
        ErrorCodes.internal,
        `${child.name} exited (${signal ?? `code ${code}`}); last log lines:\n${tail}`,
      );
    }),
  );
}
