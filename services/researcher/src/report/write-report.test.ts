import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ReportInput } from './report-model.ts';
import { writeReport } from './write-report.ts';

const input: ReportInput = {
  title: 'Report',
  generatedAt: '2025-03-01T10:00:00Z',
  experiment: { id: 'e1', name: 'n', plan: 'clinical-cox', hospitals: ['a'], rounds: 1 },
  perRound: [{ round: 1, combined: { valLoss: 1 }, hospitals: { a: { valLoss: 1 } } }],
};

test('writes the report atomically, creating the folder and leaving no temporary file', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'fedpet-report-'));
  try {
    const path = join(folder, 'nested', 'report.html');
    const written = await writeReport(path, input);
    const text = await readFile(path, 'utf8');
    assert.ok(text.startsWith('<!DOCTYPE html>'));
    assert.equal(written.bytes, Buffer.byteLength(text));
    await writeReport(path, { ...input, title: 'Second' });
    assert.ok((await readFile(path, 'utf8')).includes('<title>Second</title>'));
    assert.deepEqual(await readdir(join(folder, 'nested')), ['report.html']);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('invalid input fails before anything is written', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'fedpet-report-'));
  try {
    const path = join(folder, 'report.html');
    const bad: ReportInput = {
      ...input,
      comparison: { columns: ['a', 'b'], rows: [{ label: 'r', values: [1] }] },
    };
    await assert.rejects(writeReport(path, bad), /comparison row "r"/);
    assert.deepEqual(await readdir(folder), []);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
