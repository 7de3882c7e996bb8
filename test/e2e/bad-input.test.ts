import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cli, runCli } from '../support/run-cli.ts';

/** Bad input: one clear line naming what is wrong, and a non-zero exit. */
let work: string;
/** --identity and --federation-keys of one party of a key set written in before(). */
let keyArgs: (id: string) => string[];
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-bad-'));
  const keys = join(work, 'keys');
  const generated = await runCli(cli.fedpet, ['keys', 'generate', '--out', keys, '--hospitals', 'h1,h2']);
  assert.equal(generated.code, 0, generated.stderr);
  keyArgs = (id) => [
    '--identity',
    join(keys, `${id}.key.json`),
    '--federation-keys',
    join(keys, 'federation-keys.yaml'),
  ];
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The one human-readable line; structured JSON log lines around it are for log collectors. */
function oneLine(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('{'));
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  return lines[0]!;
}

test('a trainer started with a missing dataset path names the path and exits 1', async () => {
  const missing = join(work, 'nowhere.csv');
  const result = await runCli(cli.trainer, [
    '--hospital',
    'h1',
    '--dataset',
    `tabular=${missing}`,
    ...keyArgs('h1'),
  ]);
  assert.equal(result.code, 1);
  const line = oneLine(result.stderr);
  assert.match(line, /^fedpet-trainer: /);
  assert.ok(line.includes(missing), line);
  assert.match(line, /DATASET_MISSING/);
});

test('a trainer without a hospital or dataset lists every problem at once and exits 2', async () => {
  const result = await runCli(cli.trainer, [], {
    env: { FEDPET_HOSPITAL: '', FEDPET_DATASETS: '', FEDPET_DATA_DIR: join(work, 'no-registry') },
  });
  assert.equal(result.code, 2);
  const line = oneLine(result.stderr);
  assert.match(line, /hospital/);
  assert.match(line, /dataset/);
  assert.match(line, /identity key file/);
  assert.match(line, /federation keys/);
});

test("a trainer started with another party's key, or with a tampered key file, says so and exits 2", async () => {
  const keys = join(work, 'keys-mismatch');
  assert.equal(
    (await runCli(cli.fedpet, ['keys', 'generate', '--out', keys, '--hospitals', 'h1,h2'])).code,
    0,
  );
  const csv = join(work, 'h1-mismatch.csv');
  await writeFile(csv, 'x1,label\n1,0\n2,1\n');
  const result = await runCli(cli.trainer, [
    '--hospital',
    'h1',
    '--dataset',
    `tabular=${csv}`,
    ...keyArgs('h2'),
  ]);
  assert.equal(result.code, 2);
  assert.match(
    oneLine(result.stderr),
    /h2\.key\.json is the key of hospital "h2", but this service runs as hospital "h1"/,
  );
});

test('a malformed experiment spec names the file and the field, and exits 2', async () => {
  const spec = join(work, 'bad.yaml');
  await writeFile(spec, 'name: Bad Name\nrounds: 0\nplan: { kind: tabular-mlp }\n');
  const federation = join(work, 'federation.yaml');
  await writeFile(federation, 'name: f\nhospitals: [{ id: h1, datasets: { tabular: h1.csv } }]\n');
  const result = await runCli(cli.fedpet, [
    'sandbox',
    '--federation',
    federation,
    '--experiment',
    spec,
    '--out',
    work,
  ]);
  assert.equal(result.code, 2);
  const line = oneLine(result.stderr);
  assert.ok(line.includes(spec), line);
  assert.match(line, /name: /);
  assert.match(line, /rounds: /);
});

test('a broker that is down at start is named in one line, with a non-zero exit', async () => {
  const csv = join(work, 'h1.csv');
  await writeFile(csv, 'x1,label\n1,0\n2,1\n');
  const trainer = await runCli(
    cli.trainer,
    [
      '--hospital',
      'h1',
      '--dataset',
      `tabular=${csv}`,
      ...keyArgs('h1'),
      '--bus',
      'amqp://guest:secret@127.0.0.1:1',
    ],
    {
      env: { FEDPET_BACKEND: 'cpu' },
    },
  );
  assert.equal(trainer.code, 1);
  const line = oneLine(trainer.stderr);
  assert.match(line, /cannot reach RabbitMQ at amqp:\/\/guest:\*+@127\.0\.0\.1:1/);
  assert.ok(!line.includes('secret'), 'the password is not printed');

  const aggregator = await runCli(cli.aggregator, [
    ...keyArgs('aggregator'),
    '--redis',
    'redis://127.0.0.1:1',
  ]);
  assert.equal(aggregator.code, 1);
  assert.match(oneLine(aggregator.stderr), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
});

test('every command answers --help with its usage', async () => {
  for (const [entry, marker] of [
    [cli.fedpet, 'Usage: fedpet <command>'],
    [cli.aggregator, 'Usage: fedpet-aggregator'],
    [cli.trainer, 'Usage: fedpet-trainer'],
  ] as const) {
    const result = await runCli(entry, ['--help']);
    assert.equal(result.code, 0);
    assert.ok(result.stdout.includes(marker), result.stdout);
  }
  const sandboxHelp = await runCli(cli.fedpet, ['sandbox', '--help']);
  assert.match(sandboxHelp.stdout, /--federation <file>/);
});
