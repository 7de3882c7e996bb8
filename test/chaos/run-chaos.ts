/**
 * `make chaos`: runs federated experiments on the real brokers while
 * injecting one fault per scenario (scenarios.ts), compares each with the
 * fault-free run and prints a table; JSON goes to test/chaos/results/.
 *
 *   node --import tsx test/chaos/run-chaos.ts [--runs 2] [--only trainer-kill,duplicates] [--seed 1] [--keep]
 *
 * Exits 1 when a row fails (an experiment did not complete, an update was
 * lost, a copy was not ignored, or a fault changed the model although every
 * update was counted).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import amqplib from 'amqplib';
import { testUrls } from '../support/unique.ts';
import { type RunReport, runScenario, type Suite } from './run-scenario.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';
import { prepareCohort } from './support/cohort.ts';
import { formatTable, type Row, summarize } from './table.ts';

const RESULTS_DIRECTORY = fileURLToPath(new URL('./results/', import.meta.url));
const HOSPITALS = ['h1', 'h2', 'h3', 'h4'];
const ROWS = [300, 240, 180, 150];

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '2' },
    only: { type: 'string' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(
    `make chaos [CHAOS_ARGS="--runs N --only id,id --seed S --keep"]\nscenarios: ${SCENARIOS.map((s) => s.id).join(', ')}\n`,
  );
  process.exit(0);
}
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive integer, got "${values.runs}"`);
if (!Number.isInteger(seed)) fail(`--seed must be an integer, got "${values.seed}"`);
const only = values.only?.split(',').map((id) => id.trim()) ?? [];
for (const id of only) {
  if (!SCENARIOS.some((s) => s.id === id))
    fail(`--only: no scenario "${id}" (${SCENARIOS.map((s) => s.id).join(', ')})`);
}
const chosen = SCENARIOS.filter((s) => !s.reference && (only.length === 0 || only.includes(s.id)));
// The fault-free runs of each mode in use come first: they give the model (and duration) to compare with.
const modes = new Set(chosen.map((s) => s.secureAggregation));
const references = SCENARIOS.filter(
  (s) => s.reference && (modes.has(s.secureAggregation) || only.includes(s.id)),
);

await checkRabbit(testUrls.amqp);
const work = await mkdtemp(join(tmpdir(), 'fedpet-chaos-'));
const started = new Date();
const log = (line: string) => process.stdout.write(`${line}\n`);
log(`chaos: ${runs} run(s) per fault, seed ${seed}, work in ${work}`);
const cohort = await prepareCohort(join(work, 'cohort'), { hospitals: HOSPITALS, rows: ROWS, seed: 11 });
const suite: Suite = { cohort, amqpUrl: testUrls.amqp, directory: work, seed, log };

const reports = new Map<string, RunReport[]>();
const referenceSha = new Map<boolean, string>();
const referenceMs = new Map<boolean, number>();
for (const scenario of [...references, ...chosen]) {
  const list: RunReport[] = [];
  reports.set(scenario.id, list);
  for (let run = 1; run <= runs; run++) {
    const report = await runScenario(
      scenario,
      run,
      suite,
      referenceMs.get(scenario.secureAggregation) ?? 5000,
    );
    list.push(report);
    log(describe(scenario, report));
  }
  if (scenario.reference) {
    const good = list.filter((r) => r.completed && r.modelSha256);
    if (good[0]?.modelSha256) referenceSha.set(scenario.secureAggregation, good[0].modelSha256);
    const times = good.map((r) => r.experimentMs ?? 0).sort((a, b) => a - b);
    if (times.length > 0) referenceMs.set(scenario.secureAggregation, times[Math.floor(times.length / 2)]!);
  }
}

const rows: Row[] = [...references, ...chosen].map((scenario) =>
  summarize(scenario, reports.get(scenario.id)!, referenceSha.get(scenario.secureAggregation)),
);
log('');
log(formatTable(rows));
await mkdir(RESULTS_DIRECTORY, { recursive: true });
const resultsPath = join(RESULTS_DIRECTORY, `chaos-${started.toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(
  resultsPath,
  JSON.stringify(
    {
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      options: { runs, seed, only },
      machine: { cpus: cpus().length, node: process.version },
      references: Object.fromEntries(
        [...referenceSha].map(([secure, sha]) => [
          secure ? 'secure-aggregation' : 'sealed',
          { sha256: sha, experimentMs: referenceMs.get(secure) },
        ]),
      ),
      rows,
      runs: Object.fromEntries(reports),
    },
    null,
    2,
  ),
);
log(`\nresults: ${resultsPath}`);
const passed = rows.every((row) => row.pass);
if (passed && !values.keep) await rm(work, { recursive: true, force: true });
else log(`logs and data kept in ${work}`);
process.exit(passed ? 0 : 1);

function describe(scenario: Scenario, report: RunReport): string {
  const parts = [
    `${scenario.id} #${report.run}: ${report.completed ? 'completed' : `NOT completed (${report.error ?? report.status})`}`,
  ];
  if (report.experimentMs !== undefined)
    parts.push(`experiment ${(report.experimentMs / 1000).toFixed(1)} s`);
  parts.push(`wall ${(report.wallMs / 1000).toFixed(1)} s`);
  if (report.modelSha256) parts.push(`model ${report.modelSha256.slice(0, 12)}`);
  if (report.recoverMs !== undefined) parts.push(`recovered in ${(report.recoverMs / 1000).toFixed(1)} s`);
  if (report.lost.length > 0) parts.push(`${report.lost.length} update(s) lost`);
  if (report.notCounted.length > 0) parts.push(`not counted: ${report.notCounted.join(', ')}`);
  if (report.copies) parts.push(`copies ${report.copies.injected}, not refused ${report.copies.notRefused}`);
  return parts.join(', ');
}

async function checkRabbit(url: string): Promise<void> {
  try {
    const connection = await amqplib.connect(url);
    await connection.close();
  } catch (error) {
    fail(
      `RabbitMQ at ${url} is not reachable (make brokers): ${error instanceof Error ? error.message : error}`,
    );
  }
}

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n`);
  process.exit(2);
}
