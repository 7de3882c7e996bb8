import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { signMessage, verifyMessage } from '../secagg/identity-keys.ts';
import { openSealed, sealToPublicKey } from '../secagg/sealed-box.ts';
import {
  checkIdentityListed,
  FEDERATION_KEYS_FILE,
  generateKeySet,
  loadFederationKeys,
  loadIdentity,
  signingKeyOf,
  writeKeySet,
} from './key-files.ts';

const directories: string[] = [];
after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function freshDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'fedpet-keys-'));
  directories.push(directory);
  return directory;
}

const context = { experimentId: 'exp-1', round: 2, sender: 'h2', messageType: 'update', nonce: 'n-1' };
const payload = new Uint8Array([9, 8, 7, 6]);

test('written keys load back: signatures and sealed updates work across the files', async () => {
  const directory = await freshDirectory();
  const written = await writeKeySet(directory, generateKeySet(['h1', 'h2', 'h3'], 'agg'));
  assert.deepEqual(
    written.privateFiles.map((file) => [file.id, file.role, file.path]),
    [
      ['h1', 'hospital', join(directory, 'h1.key.json')],
      ['h2', 'hospital', join(directory, 'h2.key.json')],
      ['h3', 'hospital', join(directory, 'h3.key.json')],
      ['agg', 'aggregator', join(directory, 'agg.key.json')],
    ],
  );
  assert.equal(written.publicFile, join(directory, FEDERATION_KEYS_FILE));
  for (const file of written.privateFiles) assert.equal((await stat(file.path)).mode & 0o777, 0o600);

  const keys = await loadFederationKeys(written.publicFile);
  assert.equal(keys.aggregator.id, 'agg');
  assert.deepEqual([...keys.hospitals.keys()], ['h1', 'h2', 'h3']);

  const h2 = await loadIdentity(join(directory, 'h2.key.json'));
  assert.equal(h2.id, 'h2');
  assert.equal(h2.role, 'hospital');
  assert.equal(h2.sealingKey, undefined);
  assert.deepEqual(h2.warnings, []);
  const signature = signMessage(h2.signingKey, context, payload);
  assert.equal(verifyMessage(signingKeyOf(keys, 'h2')!, context, payload, signature), true);
  assert.equal(verifyMessage(signingKeyOf(keys, 'h1')!, context, payload, signature), false);
  assert.equal(signingKeyOf(keys, 'h9'), undefined);
  checkIdentityListed(h2, keys, written.publicFile);

  const aggregator = await loadIdentity(join(directory, 'agg.key.json'));
  assert.equal(aggregator.role, 'aggregator');
  assert.ok(aggregator.sealingKey);
  checkIdentityListed(aggregator, keys, written.publicFile);
  const aggregatorSignature = signMessage(aggregator.signingKey, { ...context, sender: 'agg' }, payload);
  assert.equal(
    verifyMessage(signingKeyOf(keys, 'agg')!, { ...context, sender: 'agg' }, payload, aggregatorSignature),
    true,
  );
  // A hospital seals to the public sealing key; only the aggregator's private file opens it.
  const sealContext = { experimentId: 'exp-1', round: 2, sender: 'h2', recipient: 'agg' };
  const sealed = sealToPublicKey(keys.aggregator.sealing, payload, sealContext);
  assert.deepEqual(new Uint8Array(openSealed(aggregator.sealingKey, sealed, sealContext)), payload);
});

test('the public file says it is public and holds no private key', async () => {
  const directory = await freshDirectory();
  const written = await writeKeySet(directory, generateKeySet(['h1']));
  const text = await readFile(written.publicFile, 'utf8');
  assert.match(text.split('\n')[0]!, /^# .*PUBLIC/);
  assert.match(text, /SECRET/);
  assert.doesNotMatch(text, /PRIVATE KEY/);
  const privateText = await readFile(join(directory, 'h1.key.json'), 'utf8');
  const signingPem = JSON.parse(privateText).signing as string;
  assert.match(signingPem, /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(text.includes(signingPem.split('\n')[1]!), false);
});

test('existing private key files are not overwritten unless forced', async () => {
  const directory = await freshDirectory();
  await writeKeySet(directory, generateKeySet(['h1', 'h2']));
  const before = await readFile(join(directory, 'h1.key.json'), 'utf8');
  await assert.rejects(
    writeKeySet(directory, generateKeySet(['h1', 'h2'])),
    (error: unknown) =>
      error instanceof FedpetError &&
      error.code === ErrorCodes.invalidConfig &&
      /refusing to overwrite/.test(error.message) &&
      error.message.includes(join(directory, 'h1.key.json')),
  );
  assert.equal(await readFile(join(directory, 'h1.key.json'), 'utf8'), before, 'nothing was written');

  // A loosened file gets 0600 again when it is replaced.
  await chmod(join(directory, 'h1.key.json'), 0o644);
  await writeKeySet(directory, generateKeySet(['h1', 'h2']), { force: true });
  assert.notEqual(await readFile(join(directory, 'h1.key.json'), 'utf8'), before);
  assert.equal((await stat(join(directory, 'h1.key.json'))).mode & 0o777, 0o600);
});

test('bad ids in a key set are refused', () => {
  const refuses = (hospitals: string[], aggregator: string | undefined, pattern: RegExp) =>
    assert.throws(
      () => generateKeySet(hospitals, aggregator),
      (error: unknown) => error instanceof FedpetError && pattern.test(error.message),
    );
  refuses([], undefined, /at least one hospital/);
  refuses(['h1', 'h1'], undefined, /"h1" is listed twice/);
  refuses(['h1', 'aggregator'], undefined, /also the aggregator's id/);
  refuses(['H1'], undefined, /hospital id "H1"/);
  refuses(['h1'], 'Agg!', /aggregator id "Agg!"/);
});

test('a private key file readable by others loads with a warning', async () => {
  const directory = await freshDirectory();
  await writeKeySet(directory, generateKeySet(['h1']));
  const path = join(directory, 'h1.key.json');
  await chmod(path, 0o640);
  const identity = await loadIdentity(path);
  assert.equal(identity.warnings.length, 1);
  assert.match(identity.warnings[0]!, /readable by group or others \(mode 0640\); run chmod 600/);
  assert.ok(identity.warnings[0]!.includes(path));
});

/** Every load error names the file and the field, and never quotes key material. */
async function assertLoadError(
  load: (path: string) => Promise<unknown>,
  path: string,
  field: RegExp,
  secrets: string[] = [],
): Promise<void> {
  await assert.rejects(load(path), (error: unknown) => {
    assert.ok(error instanceof FedpetError, String(error));
    assert.equal(error.code, ErrorCodes.invalidConfig);
    assert.ok(error.message.startsWith(`${path}:`), error.message);
    assert.match(error.message, field);
    for (const secret of secrets) assert.equal(error.message.includes(secret), false, 'quotes key material');
    return true;
  });
}

test('broken private key files are refused, naming file and field', async () => {
  const directory = await freshDirectory();
  await writeKeySet(directory, generateKeySet(['h1']));
  const good = JSON.parse(await readFile(join(directory, 'h1.key.json'), 'utf8'));
  const aggregator = JSON.parse(await readFile(join(directory, 'aggregator.key.json'), 'utf8'));
  const pemBody = (good.signing as string).split('\n')[1]!;
  const cases: [string, string, RegExp][] = [
    ['missing-signing', JSON.stringify({ id: 'h1', role: 'hospital' }), /signing: must be a PKCS#8 PEM/],
    ['bad-role', JSON.stringify({ ...good, role: 'trainer' }), /role: /],
    ['bad-id', JSON.stringify({ ...good, id: 'H 1' }), /id: /],
    ['garbled-key', JSON.stringify({ ...good, signing: good.signing.replace(/[A-Z]/g, 'A') }), /signing/],
    ['not-json', `{"signing": "${pemBody}`, /not valid JSON/],
    ['aggregator-without-sealing', JSON.stringify({ ...aggregator, sealing: undefined }), /sealing: /],
    ['hospital-with-sealing', JSON.stringify({ ...good, sealing: aggregator.sealing }), /sealing: only/],
    ['short-sealing', JSON.stringify({ ...aggregator, sealing: 'AAAA' }), /sealing must be 32 bytes/],
  ];
  for (const [name, text, field] of cases) {
    const path = join(directory, `${name}.key.json`);
    await writeFile(path, text, { mode: 0o600 });
    await assertLoadError(loadIdentity, path, field, [pemBody, aggregator.sealing]);
  }
  await assertLoadError(loadIdentity, join(directory, 'absent.key.json'), /cannot read: ENOENT/);
});

test('broken federation key files are refused, naming file and field', async () => {
  const directory = await freshDirectory();
  const written = await writeKeySet(directory, generateKeySet(['h1', 'h2']));
  const good = parseYaml(await readFile(written.publicFile, 'utf8'));
  const variant = (change: (document: typeof good) => void) => {
    const copy = structuredClone(good);
    change(copy);
    return stringifyYaml(copy);
  };
  const cases: [string, string, RegExp][] = [
    ['no-aggregator', variant((d) => delete d.aggregator), /aggregator: /],
    ['no-sealing', variant((d) => delete d.aggregator.sealing), /aggregator\.sealing: /],
    [
      'short-sealing',
      variant((d) => (d.aggregator.sealing = 'AAAA')),
      /aggregator\.sealing must be 32 bytes/,
    ],
    ['bad-hospital-key', variant((d) => (d.hospitals.h2 = 'not a key!')), /hospitals\.h2/],
    ['short-hospital-key', variant((d) => (d.hospitals.h2 = 'AAAA')), /hospitals\.h2/],
    ['bad-hospital-id', variant((d) => (d.hospitals['H 3'] = d.hospitals.h1)), /hospitals/],
    ['no-hospitals', variant((d) => (d.hospitals = {})), /hospitals: must list at least one hospital/],
    [
      'shared-key',
      variant((d) => (d.hospitals.h2 = d.hospitals.h1)),
      /hospitals\.h2: same signing key as hospitals\.h1/,
    ],
    [
      'aggregator-as-hospital',
      variant((d) => (d.hospitals.aggregator = d.hospitals.h1)),
      /hospitals\.aggregator/,
    ],
    ['not-yaml', 'aggregator: [unclosed', /not valid YAML/],
  ];
  for (const [name, text, field] of cases) {
    const path = join(directory, `${name}.yaml`);
    await writeFile(path, text);
    await assertLoadError(loadFederationKeys, path, field);
  }
});

test('an identity from another key set is not listed in this federation file', async () => {
  const first = await freshDirectory();
  const second = await freshDirectory();
  const written = await writeKeySet(first, generateKeySet(['h1', 'h2']));
  await writeKeySet(second, generateKeySet(['h1', 'h2']));
  const keys = await loadFederationKeys(written.publicFile);
  const stranger = await loadIdentity(join(second, 'h1.key.json'));
  assert.throws(
    () => checkIdentityListed(stranger, keys, written.publicFile),
    /hospitals\.h1: listed signing key does not match h1's private key file/,
  );
  const strangerAggregator = await loadIdentity(join(second, 'aggregator.key.json'));
  assert.throws(
    () => checkIdentityListed(strangerAggregator, keys, written.publicFile),
    /aggregator: listed/,
  );
  const unlisted = { ...stranger, id: 'h7' };
  assert.throws(() => checkIdentityListed(unlisted, keys, written.publicFile), /hospital "h7" is not listed/);
  // The loaded private key and the listed public key are one pair.
  const own = await loadIdentity(join(first, 'h1.key.json'));
  assert.equal(
    createPublicKey(own.signingKey).export({ format: 'der', type: 'spki' }).toString('hex'),
    keys.hospitals.get('h1')!.export({ format: 'der', type: 'spki' }).toString('hex'),
  );
});
