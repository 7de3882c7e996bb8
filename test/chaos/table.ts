import type { RunReport } from './run-scenario.ts';
import type { Scenario } from './scenarios.ts';

/** One line of the chaos table: a fault and what its runs showed. */
export interface Row {
  scenario: string;
  fault: string;
  runs: number;
  completed: number;
  sameModel: string;
  updatesLost: number;
  duplicatesIgnored: string;
  timeToRecover: string;
  pass: boolean;
  /** Why the row failed, one phrase per problem. */
  problems: string[];
  /** Dead letters other than refused replays, by reason, over all runs (worth a look, not a failure). */
  otherDeadLetters: Record<string, number>;
}

/**
 * Sums up a scenario's runs. A row passes when every run completed its
 * experiment, injected its fault, lost no update, ignored every injected
 * copy, and ended with the fault-free model whenever every hospital's update
 * of every round was counted (faults must not change the result; a hospital
 * left out with a reason explains a different model).
 */
export function summarize(
  scenario: Scenario,
  runs: readonly RunReport[],
  referenceSha: string | undefined,
): Row {
  const problems: string[] = [];
  const completed = runs.filter((r) => r.completed);
  if (completed.length < runs.length) {
    problems.push(
      `${runs.length - completed.length} run(s) did not complete: ${[...new Set(runs.filter((r) => !r.completed).map((r) => r.error ?? r.status))].join('; ')}`,
    );
  }
  if (runs.some((r) => !r.faultInjected)) problems.push('fault not injected before the experiment ended');
  const errors = runs.filter((r) => r.completed && r.error).map((r) => r.error!);
  if (errors.length > 0) problems.push(...new Set(errors));
  const updatesLost = runs.reduce((sum, r) => sum + r.lost.length, 0);
  if (updatesLost > 0) {
    const which = runs.flatMap((r) => r.lost.map((l) => `${l.hospital} r${l.round} ${l.code}`));
    problems.push(`updates lost: ${which.join(', ')}`);
  }
  const copies = runs.filter((r) => r.copies);
  const injected = copies.reduce((sum, r) => sum + r.copies!.injected, 0);
  const notRefused = copies.reduce((sum, r) => sum + r.copies!.notRefused, 0);
  if (notRefused > 0) problems.push(`${notRefused} injected copies were not refused`);
  const ignored = runs.reduce((sum, r) => sum + r.duplicatesIgnored, 0);
  const sameModel = modelColumn(scenario, completed, referenceSha, problems);
  const otherDeadLetters: Record<string, number> = {};
  for (const run of runs) {
    for (const [reason, count] of Object.entries(run.deadLetters)) {
      if (reason === 'replay' || reason === 'stale-round') continue;
      otherDeadLetters[reason] = (otherDeadLetters[reason] ?? 0) + count;
    }
  }
  const recoveries = runs.map((r) => r.recoverMs);
  const outages = runs.flatMap((r) => (r.outageMs === undefined ? [] : [r.outageMs]));
  return {
    scenario: scenario.id,
    fault: scenario.fault,
    runs: runs.length,
    completed: completed.length,
    sameModel,
    updatesLost,
    duplicatesIgnored: copies.length > 0 ? `${ignored} of ${injected} copies` : String(ignored),
    timeToRecover: scenario.transient ? recoveryColumn(recoveries, outages) : '—',
    pass: problems.length === 0,
    problems,
    otherDeadLetters,
  };
}

function modelColumn(
  scenario: Scenario,
  completed: readonly RunReport[],
  referenceSha: string | undefined,
  problems: string[],
): string {
  if (completed.length === 0) return '—';
  if (scenario.reference) {
    const shas = new Set(completed.map((r) => r.modelSha256));
    if (shas.size > 1) problems.push('fault-free runs ended with different models');
    return shas.size === 1 ? 'yes (reference)' : 'NO: not reproducible';
  }
  const differing = completed.filter((r) => r.modelSha256 !== referenceSha);
  if (differing.length === 0) return 'yes';
  const unexplained = differing.filter((r) => r.notCounted.length === 0);
  if (unexplained.length > 0) {
    problems.push(`${unexplained.length} run(s) counted every update yet ended with another model`);
    return 'NO (every update counted)';
  }
  const reasons = [...new Set(differing.flatMap((r) => r.notCounted))];
  const shown = reasons.length > 3 ? `${reasons.slice(0, 3).join(', ')}, …` : reasons.join(', ');
  const expected = scenario.modelExpectation ? `expected: ${scenario.modelExpectation}; ` : '';
  return `no in ${differing.length}/${completed.length} (${expected}${shown})`;
}

function recoveryColumn(values: readonly (number | undefined)[], outages: readonly number[]): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const range = (list: readonly number[]) => {
    const sorted = [...list].sort((a, b) => a - b);
    if (sorted.length === 0) return '';
    const [low, high] = [seconds(sorted[0]!), seconds(sorted.at(-1)!)];
    return low === high ? low : `${low}–${high}`;
  };
  const known = values.filter((v): v is number => v !== undefined);
  const missing = values.length - known.length;
  const parts = [range(known)];
  if (outages.length > 0) parts.push(`(down ${range(outages)})`);
  if (missing > 0) parts.push(`${missing}× no progress after the fault`);
  return parts.filter(Boolean).join(' ');
}

export const FOOTNOTE = `experiments completed: fedpet submit exited 0 and results.json says "completed".
final model = fault-free: results.json model.weights.sha256 equals the fault-free run's of the same mode
  (secure aggregation or sealed updates); a "no" lists the outcomes that were not counted.
updates lost: round outcomes (training rounds and the final evaluation) of a hospital whose trainer was
  running for the whole round, that were neither counted (ok) nor accounted for with a reason: failed with
  no code, ROUND_TIMEOUT or SECAGG_DROPPED. late and excluded are policy decisions, not losses; a hospital
  that is down (killed, not yet ready again, or never started) during a round cannot lose an update in it.
duplicates ignored: frames the aggregator refused as replays (dead-letter reason replay or stale-round)
  plus results.json reliability.duplicatesIgnored; for injected copies, "N of M" = refused of sent.
time to recover: from the fault's injection to the next progress event the aggregator made once the fault
  was over (the killed process restarted and ready, the broker answering again; "down" = how long that
  took), as received by the researcher (trainer kill: the next report about the killed hospital).`;

export function formatTable(rows: readonly Row[]): string {
  const header = [
    'fault',
    'runs',
    'experiments completed',
    'final model = fault-free',
    'updates lost',
    'duplicates ignored',
    'time to recover',
    'verdict',
  ];
  const cells = rows.map((row) => [
    row.fault,
    String(row.runs),
    `${row.completed}/${row.runs}`,
    row.sameModel,
    String(row.updatesLost),
    row.duplicatesIgnored,
    row.timeToRecover,
    row.pass ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join(' | ')
      .trimEnd();
  const problems = rows.filter((row) => !row.pass).map((row) => `${row.fault}: ${row.problems.join('; ')}`);
  const notes = rows
    .filter((row) => Object.keys(row.otherDeadLetters).length > 0)
    .map(
      (row) =>
        `${row.fault}: dead letters ${Object.entries(row.otherDeadLetters)
          .map(([reason, count]) => `${count}× "${reason}"`)
          .join(', ')}`,
    );
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...cells.map(line),
    '',
    ...(problems.length > 0 ? ['failures:', ...problems.map((p) => `  ${p}`), ''] : []),
    ...(notes.length > 0 ? ['notes:', ...notes.map((n) => `  ${n}`), ''] : []),
    FOOTNOTE,
  ].join('\n');
}
