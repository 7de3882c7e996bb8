import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import type { DatasetEntry } from './registry-store.ts';
import { RegistryStore } from './registry-store.ts';

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedpet-registry-store-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh store in its own (not yet existing) data directory. */
function freshStore(): RegistryStore {
  counter++;
  return new RegistryStore(join(root, `data-${counter}`, 'trainer'));
}

const petCt: DatasetEntry = {
  name: 'lung-fdg',
  kind: 'pet-ct',
  dicom: '/data/pacs-export',
  clinical: '/data/clinical.csv',
  columns: { patientId: 'pid' },
  tags: ['nsclc', 'fdg'],
  addedAt: '2024-06-11T08:00:00.000Z',
};
const csv: DatasetEntry = {
  name: 'tabular',
  kind: 'csv',
  path: '/data/table.csv',
  tags: [],
  addedAt: '2024-06-11T08:05:00.000Z',
};

test('an empty or absent registry lists nothing; add, list, get and remove round-trip', async () => {
  const store = freshStore();
  assert.equal(store.file, join(store.dataDirectory, 'datasets.json'));
  assert.equal(store.cacheDirectory, join(store.dataDirectory, 'cache'));
  assert.deepEqual(await store.list(), []);
  assert.equal(await store.get('lung-fdg'), undefined);

  await store.add(petCt);
  await store.add(csv);
  assert.deepEqual(await store.list(), [petCt, csv]);
  assert.deepEqual(await store.get('tabular'), csv);

  // A second store on the same directory reads what the first wrote.
  const reopened = new RegistryStore(store.dataDirectory);
  assert.deepEqual(await reopened.get('lung-fdg'), petCt);
  const onDisk = JSON.parse(await readFile(store.file, 'utf8'));
  assert.equal(onDisk.version, 1);
  assert.deepEqual(
    onDisk.datasets.map((d: DatasetEntry) => d.name),
    ['lung-fdg', 'tabular'],
  );

  assert.equal(await store.remove('lung-fdg'), true);
  assert.deepEqual(await reopened.list(), [csv]);
  assert.equal(await store.remove('lung-fdg'), false, 'removing twice reports nothing removed');
  assert.equal(await store.remove('tabular'), true);
  assert.deepEqual(await store.list(), []);
});

test('defaults are filled in: tags and column overrides may be left out', async () => {
  const store = freshStore();
  const { tags: _tags, columns: _columns, ...bare } = petCt as Extract<DatasetEntry, { kind: 'pet-ct' }>;
  await store.add(bare as DatasetEntry);
  assert.deepEqual(await store.get(petCt.name), { ...bare, tags: [], columns: {} });
});

test('a second dataset with the same name is refused, naming it, and the registry is unchanged', async () => {
  const store = freshStore();
  await store.add(petCt);
  const before = await readFile(store.file, 'utf8');
  await assert.rejects(
    store.add({ ...csv, name: petCt.name }),
    (error: unknown) =>
      error instanceof FedpetError &&
      error.code === ErrorCodes.invalidConfig &&
      error.message.includes(`"${petCt.name}" is already registered`),
  );
  assert.equal(await readFile(store.file, 'utf8'), before);
});

test('an invalid entry is refused before anything is written', async () => {
  const store = freshStore();
  await assert.rejects(store.add({ ...csv, name: 'no spaces allowed' }));
  await assert.rejects(store.add({ ...csv, tags: ['bad tag!'] }));
  await assert.rejects(readFile(store.file), { code: 'ENOENT' });
});

test('the file is replaced atomically: no temporary file is left beside it', async () => {
  const store = freshStore();
  for (let i = 0; i < 5; i++) await store.add({ ...csv, name: `t${i}` });
  await store.remove('t2');
  assert.deepEqual(await readdir(store.dataDirectory), ['datasets.json']);
  assert.deepEqual(
    (await store.list()).map((e) => e.name),
    ['t0', 't1', 't3', 't4'],
  );
});

test('a corrupt or invalid datasets.json is a clear error naming the file, never an empty registry', async () => {
  const store = freshStore();
  await store.add(petCt);
  const good = await readFile(store.file, 'utf8');

  await writeFile(store.file, good.slice(0, good.length / 2));
  for (const call of [
    () => store.list(),
    () => store.get('x'),
    () => store.add(csv),
    () => store.remove('x'),
  ]) {
    await assert.rejects(
      call(),
      (error: unknown) =>
        error instanceof FedpetError &&
        error.code === ErrorCodes.invalidConfig &&
        error.message.includes(store.file) &&
        /not valid JSON/.test(error.message),
    );
  }
  assert.equal(
    await readFile(store.file, 'utf8'),
    good.slice(0, good.length / 2),
    'a failed add does not overwrite',
  );

  await writeFile(store.file, JSON.stringify({ version: 1, datasets: [{ ...petCt, kind: 'mri' }] }));
  await assert.rejects(store.list(), (error: unknown) => {
    assert.ok(error instanceof FedpetError);
    assert.ok(error.message.includes(store.file), error.message);
    assert.match(error.message, /datasets\.0\.kind/);
    return true;
  });

  await writeFile(store.file, JSON.stringify({ version: 2, datasets: [] }));
  await assert.rejects(store.list(), (error: unknown) => {
    assert.ok(error instanceof FedpetError && error.message.includes(store.file));
    assert.match(error.message, /version/);
    return true;
  });
});

test('concurrent adds from several stores on one directory lose no entry', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'fedpet-registry-race-'));
  try {
    const stores = Array.from({ length: 6 }, () => new RegistryStore(directory));
    await Promise.all(
      stores.map((store, index) =>
        store.add({
          name: `d${index}`,
          kind: 'csv',
          path: `/data/${index}.csv`,
          tags: [],
          addedAt: new Date(0).toISOString(),
        }),
      ),
    );
    const names = (await new RegistryStore(directory).list()).map((entry) => entry.name).sort();
    assert.deepEqual(names, ['d0', 'd1', 'd2', 'd3', 'd4', 'd5']);
    assert.deepEqual((await readdir(directory)).sort(), ['datasets.json']);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
