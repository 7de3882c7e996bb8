import { randomBytes } from 'node:crypto';
import type { ExperimentSpec } from '@fedpet/shared/contracts/experiment-spec';
import type { ExperimentJob } from '@fedpet/shared/contracts/jobs';
import { PROTOCOL_VERSION } from '@fedpet/shared/contracts/version';
import { EXPERIMENTS_QUEUE } from '@fedpet/shared/jobs/queues';
import { withProducerSpan } from '@fedpet/shared/telemetry/spans';
import type { Queue } from 'bullmq';

/** A readable, unique experiment id: the spec's name plus 6 random hex digits. */
export function newExperimentId(spec: ExperimentSpec): string {
  return `${spec.name.slice(0, 48)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Posts an experiment job. The submit span starts the experiment's trace;
 * its context rides in the job data to the aggregator.
 */
export async function submitExperiment(
  queue: Queue,
  spec: ExperimentSpec,
  experimentId: string,
  resumeFrom?: ExperimentJob['resumeFrom'],
): Promise<void> {
  await withProducerSpan(
    'experiment.submit',
    { 'fedpet.experiment': experimentId, 'messaging.destination.name': EXPERIMENTS_QUEUE },
    async (trace) => {
      const job: ExperimentJob = {
        v: PROTOCOL_VERSION,
        experimentId,
        spec,
        submittedAt: new Date().toISOString(),
        ...(resumeFrom ? { resumeFrom } : {}),
        trace,
      };
      await queue.add('experiment', job, {
        jobId: experimentId,
        attempts: 1,
        removeOnComplete: { age: 30 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      });
    },
  );
}
