import type { RoundJob } from '@fedpet/shared/contracts/jobs';
import { siteEventTimes, siteNewtonTerms, siteRiskSetSums } from '@fedpet/shared/cox/cox-site';
import { encodeEventTimes, encodeRiskSetSums, encodeTerms } from '@fedpet/shared/cox/cox-wire';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import type { DatasetRegistry } from './dataset-registry.ts';
import type { LocalUpdate } from './round-handler.ts';

/**
 * One exact-Cox round at this hospital: its distinct event times (pooled
 * fit, once — what the plan's revealEventTimes allows), or at the job's β its
 * log partial likelihood, gradient and Hessian (stratified by hospital), or
 * its risk-set sums at the global event times (pooled, WebDISCO). Only these
 * sums leave the hospital, sealed to the aggregator.
 */
export async function handleCoxJob(job: RoundJob, datasets: DatasetRegistry): Promise<LocalUpdate> {
  const started = performance.now();
  if (job.plan.kind !== 'exact-cox' || !job.cox) {
    throw new FedpetError(
      ErrorCodes.invalidMessage,
      'a cox round job needs an exact-cox plan and a cox step',
    );
  }
  const plan = job.plan;
  const rows = await datasets.coxRows(job.dataset, plan);
  const n = rows.time.length;
  const loaded = performance.now();
  let payload: Uint8Array;
  switch (job.cox.step) {
    case 'event-times':
      if (plan.stratified || !plan.revealEventTimes) {
        throw new FedpetError(
          ErrorCodes.invalidSpec,
          'this plan does not allow sharing event times (pooled fits need revealEventTimes: true)',
        );
      }
      payload = encodeEventTimes(siteEventTimes(rows));
      break;
    case 'terms':
      payload = encodeTerms(siteNewtonTerms(rows, Float64Array.from(job.cox.beta), plan.ties));
      break;
    case 'risk-sums':
      payload = encodeRiskSetSums(
        siteRiskSetSums(rows, Float64Array.from(job.cox.beta), job.cox.eventTimes, plan.ties),
      );
      break;
  }
  return {
    numSamples: n,
    metrics: {},
    timingsMs: { data: loaded - started, compute: performance.now() - loaded },
    payload,
  };
}
