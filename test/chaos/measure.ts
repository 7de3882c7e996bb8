import type { Downtime } from './support/federation-processes.ts';
import type { ProgressRecord } from './support/progress-recorder.ts';

/** The parts of results.json the suite reads (fields added later are optional). */
export interface Outcome {
  hospital: string;
  status: string;
  code?: string;
  reason?: string;
}

export interface RoundRecord {
  round: number;
  kind: string;
  startedAt: string;
  durationMs: number;
  hospitals: Outcome[];
}

export interface Results {
  status: string;
  durationMs?: number;
  rounds?: RoundRecord[];
  finalEvaluation?: RoundRecord | null;
  model?: { weights?: { sha256: string } } | null;
  messageChecks?: Record<string, number>;
  reliability?: Partial<Record<'resumes' | 'duplicatesIgnored' | 'lateUpdates' | 'rejectedUpdates', number>>;
}

export interface LostUpdate {
  round: number;
  hospital: string;
  code: string;
}

/**
 * What the aggregator writes when nothing arrived from a hospital: no answer
 * by the round deadline, or (secure aggregation) no key shares before the
 * key-exchange phase closed. Every other non-ok outcome carries a code that
 * says why (an error the hospital reported, a policy decision such as late or
 * excluded, a round restarted after a crash).
 */
const NOTHING_ARRIVED = new Set(['ROUND_TIMEOUT', 'SECAGG_DROPPED']);

/**
 * Updates lost: round outcomes (training rounds and the final evaluation) of
 * a hospital that was alive for the whole round — its trainer was started for
 * the scenario and was not down (killed and not yet ready again) at any time
 * between the round's start and its end — whose update was neither counted
 * (status ok) nor accounted for with a reason: status "failed" with no code,
 * ROUND_TIMEOUT or SECAGG_DROPPED. Statuses late and excluded are policy
 * decisions, not losses.
 */
export function lostUpdates(
  results: Results,
  absent: ReadonlySet<string>,
  downtimes: ReadonlyMap<string, readonly Downtime[]>,
): LostUpdate[] {
  const lost: LostUpdate[] = [];
  const rounds = [...(results.rounds ?? []), ...(results.finalEvaluation ? [results.finalEvaluation] : [])];
  for (const round of rounds) {
    const start = Date.parse(round.startedAt);
    const end = start + round.durationMs;
    for (const outcome of round.hospitals) {
      if (outcome.status !== 'failed' || absent.has(outcome.hospital)) continue;
      if (outcome.code !== undefined && !NOTHING_ARRIVED.has(outcome.code)) continue;
      const down = (downtimes.get(outcome.hospital) ?? []).some(
        (d) => d.from < end && (d.to ?? Number.POSITIVE_INFINITY) > start,
      );
      if (!down) lost.push({ round: round.round, hospital: outcome.hospital, code: outcome.code ?? 'none' });
    }
  }
  return lost;
}

/** Every outcome that is not "ok", as "h2 r3 SECAGG_DROPPED" (to explain a different model). */
export function notCounted(results: Results): string[] {
  const rounds = [...(results.rounds ?? []), ...(results.finalEvaluation ? [results.finalEvaluation] : [])];
  return rounds.flatMap((round) =>
    round.hospitals
      .filter((outcome) => outcome.status !== 'ok')
      .map(
        (outcome) =>
          `${outcome.hospital} r${round.round} ${outcome.status}${outcome.code ? ` ${outcome.code}` : ''}`,
      ),
  );
}

/**
 * Time to recover: from the fault's injection to the first progress event of
 * the experiment that the aggregator made (sentAt) once the fault was over —
 * the killed process restarted and ready, the broker answering again — and
 * that the scenario counts as progress, as received by the researcher.
 */
export function recoveryMs(
  events: readonly ProgressRecord[],
  fault: { at: number; endedAt: number },
  counts: (record: ProgressRecord) => boolean = () => true,
): number | undefined {
  const next = events.find((e) => e.sentAt >= fault.endedAt && counts(e));
  return next ? next.receivedAt - fault.at : undefined;
}

/**
 * Duplicates the aggregator ignored: frames it refused as replays of
 * messages it already had (its dead-letter queue, reason replay or
 * stale-round), plus what it reports itself (results.json
 * reliability.duplicatesIgnored, absent before checkpointing: 0).
 */
export function duplicatesIgnored(results: Results | undefined, refusedReplays: number): number {
  return refusedReplays + (results?.reliability?.duplicatesIgnored ?? 0);
}

/** Copies (by frame SHA-256, each counted once) that no refused dead letter accounts for. */
export function unrefused<T extends { sha256: string }>(
  copies: readonly T[],
  refused: readonly { sha256: string }[],
): T[] {
  const left = new Map<string, number>();
  for (const letter of refused) left.set(letter.sha256, (left.get(letter.sha256) ?? 0) + 1);
  return copies.filter((copy) => {
    const count = left.get(copy.sha256) ?? 0;
    if (count > 0) left.set(copy.sha256, count - 1);
    return count === 0;
  });
}

export const REPLAY_REASON = /signature check failed \((replay|stale-round)\)/;
