import type { ExactCoxPlan } from '@fedpet/shared/contracts/experiment-spec';
import type { EnvelopeFields } from '@fedpet/shared/contracts/frame';
import type { CoxStep, ExperimentJob, ExperimentResultRef } from '@fedpet/shared/contracts/jobs';
import { PROTOCOL_VERSION } from '@fedpet/shared/contracts/version';
import { sumTerms } from '@fedpet/shared/cox/cox-central';
import { fitCox } from '@fedpet/shared/cox/cox-newton';
import { combineRiskSetSums, pooledNewtonTerms } from '@fedpet/shared/cox/cox-pooled';
import { mergeEventTimes } from '@fedpet/shared/cox/cox-site';
import { decodeEventTimes, decodeRiskSetSums, decodeTerms } from '@fedpet/shared/cox/cox-wire';
import { describeError, ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { openSealed } from '@fedpet/shared/secagg/sealed-box';
import { normalTwoSidedP } from '@fedpet/shared/survival/chi-square';
import { injectTraceContext } from '@fedpet/shared/telemetry/propagation';
import { withSpan } from '@fedpet/shared/telemetry/spans';
import type { RunnerDeps } from './experiment-runner.ts';
import { RoundCollector } from './round-collector.ts';

interface CoxRoundRecord {
  round: number;
  step: CoxStep['step'];
  startedAt: string;
  durationMs: number;
  logLik?: number;
  hospitals: { hospital: string; status: string; code?: string; reason?: string }[];
}

/**
 * Exact federated Cox regression (plan exact-cox): Newton–Raphson where each
 * evaluation of the log partial likelihood, its gradient and Hessian is one
 * round over the brokers. Stratified by hospital, every hospital sends its
 * own terms at β and their sum is the exact stratified likelihood. Pooled
 * (WebDISCO, Lu et al. 2015), a first round collects each hospital's distinct
 * event times (the grid the plan's revealEventTimes allows to share), then
 * each round sums their risk-set sums at the global grid. Both equal a
 * centralized fit on the pooled rows. Every hospital must answer every round:
 * the likelihood is a sum over all of them, so a missing one is an error, not
 * a smaller round. Payloads travel sealed to the aggregator (float64: secure
 * aggregation's fixed point would break the exactness).
 */
export async function runExactCoxExperiment(
  job: ExperimentJob,
  deps: RunnerDeps,
): Promise<ExperimentResultRef> {
  const { spec, experimentId } = job;
  const plan = spec.plan as ExactCoxPlan;
  const startedAt = new Date();
  const logger = deps.logger.child({ experimentId });
  const rounds: CoxRoundRecord[] = [];
  // Exact Cox keeps no checkpoint (a fit is seconds of work): a restarted aggregator runs it
  // again from the first Newton step, under a new attempt so the old run's jobs and answers stay apart.
  const attempt = await deps.checkpoints.nextRun(experimentId);
  const fields = (round: number): EnvelopeFields => ({ experimentId, round, attempt, sender: deps.sender });
  await deps.publishProgress(fields(0), {
    event: 'experiment.started',
    rounds: spec.rounds,
    hospitals: spec.hospitals,
  });
  const p = plan.features.length;

  const coxRound = async (step: CoxStep): Promise<Map<string, Uint8Array>> => {
    const round = rounds.length + 1;
    if (deps.signal.aborted) throw new FedpetError(ErrorCodes.cancelled, 'the aggregator is shutting down');
    const started = Date.now();
    const beta = 'beta' in step ? Float64Array.from(step.beta) : new Float64Array(p);
    const modelRef = await deps.putBlob(new Uint8Array(beta.buffer));
    await deps.publishProgress(fields(round), { event: 'round.started', kind: 'cox', model: modelRef });
    const collector = new RoundCollector({
      kind: 'cox',
      hospitals: spec.hospitals,
      parameterCount: 0,
      attempt,
      protection: {
        mode: 'sealed',
        open: (sealed, hospital) =>
          openSealed(deps.security.sealingKey, sealed, {
            experimentId,
            round,
            sender: hospital,
            recipient: deps.sender,
          }),
      },
    });
    const close = deps.inbox.openRound(experimentId, round, collector);
    const deadline = new Date(Date.now() + spec.roundTimeoutSeconds * 1000);
    try {
      for (const hospital of spec.hospitals) {
        await deps.enqueueRoundJob(
          {
            v: PROTOCOL_VERSION,
            kind: 'cox',
            experimentId,
            round,
            attempt,
            hospital,
            plan,
            dataset: spec.dataset,
            hyperparameters: spec.hyperparameters,
            seed: spec.seed,
            validationFraction: 0,
            model: modelRef,
            deadline: deadline.toISOString(),
            cox: step,
            trace: injectTraceContext({}),
          },
          attempt === 0
            ? `${experimentId}.${round}.${hospital}`
            : `${experimentId}.${round}.${hospital}.a${attempt}`,
        );
      }
      const report = await collector.wait(deadline, deps.signal);
      const failed = report.outcomes.filter((outcome) => outcome.status !== 'ok');
      rounds.push({
        round,
        step: step.step,
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        hospitals: report.outcomes.map(({ hospital, status, code, reason }) => ({
          hospital,
          status,
          ...(code ? { code } : {}),
          ...(reason ? { reason } : {}),
        })),
      });
      await deps.publishProgress(fields(round), {
        event: 'round.completed',
        kind: 'cox',
        outcomes: report.outcomes,
        metrics: {},
        durationMs: Date.now() - started,
      });
      if (failed.length > 0) {
        throw new FedpetError(
          ErrorCodes.noUpdates,
          `exact Cox needs every hospital in every round; round ${round}: ${failed.map((o) => `${o.hospital} ${o.code ?? ''} ${o.reason ?? ''}`.trim()).join('; ')}`,
        );
      }
      return report.payloads;
    } finally {
      close();
    }
  };

  try {
    let grid: number[] | undefined;
    if (!plan.stratified) {
      const times = await coxRound({ step: 'event-times' });
      grid = [
        ...mergeEventTimes(
          [...times].map(([hospital, bytes]) => decodeEventTimes(bytes, `event times of ${hospital}`)),
        ),
      ];
      logger.info('exact Cox: global event-time grid assembled', { times: grid.length });
    }
    const fit = await withSpan('cox.fit', { attributes: { 'fedpet.cox.p': p } }, () =>
      fitCox(
        async (beta) => {
          if (grid) {
            const payloads = await coxRound({ step: 'risk-sums', beta: [...beta], eventTimes: grid });
            const sums = [...payloads].map(([hospital, bytes]) =>
              decodeRiskSetSums(bytes, grid!, p, plan.ties, `risk-set sums of ${hospital}`),
            );
            const terms = pooledNewtonTerms(combineRiskSetSums(sums), beta, plan.ties);
            rounds.at(-1)!.logLik = terms.logLik;
            return terms;
          }
          const payloads = await coxRound({ step: 'terms', beta: [...beta] });
          const terms = sumTerms(
            [...payloads].map(([hospital, bytes]) => decodeTerms(bytes, p, `Newton terms of ${hospital}`)),
          );
          rounds.at(-1)!.logLik = terms.logLik;
          return terms;
        },
        p,
        { maxIterations: plan.maxIterations, tolerance: plan.tolerance, covariateNames: plan.features },
      ),
    );
    const coxModel = {
      method: plan.stratified
        ? 'stratified by hospital'
        : 'pooled (WebDISCO: the event-time grid was shared)',
      ties: plan.ties,
      covariates: plan.features,
      beta: [...fit.beta],
      se: [...fit.standardErrors],
      hr: [...fit.hazardRatios],
      ci95: fit.ci95,
      z: [...fit.beta].map((b, i) => b / fit.standardErrors[i]!),
      pValues: [...fit.beta].map((b, i) => normalTwoSidedP(b / fit.standardErrors[i]!)),
      logLikInitial: fit.logLikInitial,
      logLik: fit.logLik,
      iterations: fit.iterations,
      converged: fit.converged,
      covariance: [...fit.covariance],
    };
    logger.info('exact Cox fitted', {
      iterations: fit.iterations,
      converged: fit.converged,
      logLik: fit.logLik,
    });
    const results = await deps.putBlob(
      Buffer.from(
        JSON.stringify(
          {
            experimentId,
            name: spec.name,
            status: 'completed',
            submittedAt: job.submittedAt,
            startedAt: startedAt.toISOString(),
            finishedAt: new Date().toISOString(),
            durationMs: Date.now() - startedAt.getTime(),
            spec,
            coxModel,
            rounds,
            messageChecks: deps.security.rejectedMessages(),
          },
          null,
          2,
        ),
      ),
    );
    await deps.publishProgress(fields(rounds.length + 1), { event: 'experiment.completed', results });
    return { experimentId, status: 'completed', results };
  } catch (error) {
    const { code, reason } = describeError(error);
    logger.error('experiment failed', { code, reason });
    await deps.publishProgress(fields(rounds.length), { event: 'experiment.failed', code, reason });
    const results = await deps.putBlob(
      Buffer.from(
        JSON.stringify(
          { experimentId, name: spec.name, status: 'failed', error: { code, reason }, spec, rounds },
          null,
          2,
        ),
      ),
    );
    return { experimentId, status: 'failed', results };
  }
}
