import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatDa, formatDt, formatTm } from './dicom-time.ts';
import { WritePool } from './write-pool.ts';

test('WritePool writes every file and reports the first failure on drain', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'fedpet-write-pool-'));
  t.after(() => rm(directory, { recursive: true, force: true }));
  const pool = new WritePool(3);
  for (let i = 0; i < 40; i++) await pool.write(join(directory, `f${i}.bin`), new Uint8Array([i]));
  await pool.drain();
  assert.equal((await readdir(directory)).length, 40);
  assert.deepEqual([...(await readFile(join(directory, 'f17.bin')))], [17]);

  const failing = new WritePool(2);
  await failing.write(join(directory, 'missing-folder', 'x.bin'), 'x');
  await assert.rejects(failing.drain(), { code: 'ENOENT' });
  assert.throws(() => new WritePool(0), RangeError);
});

test('DICOM date and time text from whole epoch seconds', () => {
  const t = Date.UTC(2023, 0, 9, 7, 5, 3) / 1000;
  assert.equal(formatDa(t), '20230109');
  assert.equal(formatTm(t), '070503');
  assert.equal(formatDt(t), '20230109070503');
  assert.throws(() => formatTm(t + 0.5), RangeError);
});
