import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadFederationKeys, loadIdentity } from '@fedpet/shared/security/key-files';
import { commandHelp, HELP } from './help.ts';
import { runKeysCommand } from './keys-command.ts';

const directories: string[] = [];
after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await runKeysCommand(args, { write: (chunk: string) => (text += chunk) });
  return { code, text };
}

test('keys generate writes one secret file per party and the public file, and says which is which', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'fedpet-keys-cli-'));
  directories.push(directory);
  const out = join(directory, 'keys');
  const { code, text } = await run([
    'generate',
    '--out',
    out,
    '--hospitals',
    'h1,h2,h3',
    '--aggregator',
    'agg',
  ]);
  assert.equal(code, 0);
  assert.deepEqual((await readdir(out)).sort(), [
    'agg.key.json',
    'federation-keys.yaml',
    'h1.key.json',
    'h2.key.json',
    'h3.key.json',
  ]);
  const [secretSection, publicSection] = text.split('PUBLIC');
  for (const id of ['h1', 'h2', 'h3', 'agg']) assert.ok(secretSection!.includes(`${id}.key.json`), id);
  assert.match(secretSection!, /SECRET/);
  assert.match(publicSection!, /federation-keys\.yaml/);
  const keys = await loadFederationKeys(join(out, 'federation-keys.yaml'));
  assert.deepEqual([...keys.hospitals.keys()], ['h1', 'h2', 'h3']);
  assert.equal((await loadIdentity(join(out, 'agg.key.json'))).role, 'aggregator');

  await assert.rejects(run(['generate', '--out', out, '--hospitals', '3', '--aggregator', 'agg']), /--force/);
  const forced = await run(['generate', '--out', out, '--hospitals', '3', '--aggregator', 'agg', '--force']);
  assert.equal(forced.code, 0);
});

test('keys needs its action and flags', async () => {
  await assert.rejects(run(['--out', 'x', '--hospitals', 'h1']), /missing action "generate"/);
  await assert.rejects(run(['rotate', '--out', 'x', '--hospitals', 'h1']), /unknown action "rotate"/);
  await assert.rejects(run(['generate', '--hospitals', 'h1']), /--out is required/);
  await assert.rejects(run(['generate', '--out', 'x']), /--hospitals is required/);
  await assert.rejects(run(['generate', '--out', 'x', '--hospitals', '0']), /at least one hospital/);
});

test('keys is listed in the help', () => {
  assert.match(HELP, /^ {2}keys {6}/m);
  assert.match(commandHelp('keys') ?? '', /fedpet keys generate --out <dir>/);
});
