import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { planSchema } from '../../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { type ModelSpec, modelSpecOf } from './model-spec.ts';
import { applyScaling, csvPlanData } from './plan-columns.ts';

const directory = await mkdtemp(join(tmpdir(), 'fedpet-plan-columns-'));
after(() => rm(directory, { recursive: true, force: true }));

let files = 0;
async function csv(lines: string[]): Promise<string> {
  const path = join(directory, `data-${++files}.csv`);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

const specOf = (plan: Record<string, unknown>): ModelSpec => modelSpecOf(planSchema.parse(plan));

const cox = specOf({
  kind: 'clinical-cox',
  features: ['age', 'ecog'],
  scaling: { age: { center: 65, scale: 10 } },
});
const classifier = specOf({ kind: 'response-classifier', features: ['suv_max'] });

/** Asserts a DATASET_INVALID error whose message passes every check. */
const invalid =
  (...patterns: (RegExp | string)[]) =>
  (error: unknown): boolean => {
    assert.ok(error instanceof FedpetError, String(error));
    assert.equal(error.code, ErrorCodes.datasetInvalid);
    for (const pattern of patterns) {
      if (typeof pattern === 'string') assert.ok(error.message.includes(pattern), error.message);
      else assert.match(error.message, pattern);
    }
    return true;
  };

const close = (actual: ArrayLike<number>, expected: number[]): void => {
  assert.equal(actual.length, expected.length);
  expected.forEach((value, i) => {
    assert.ok(Math.abs(actual[i]! - value) < 1e-5, `[${i}] = ${actual[i]}, expected ${value}`);
  });
};

test('csvPlanData reads the plan columns by header name in any order and scales them', async () => {
  const path = await csv([
    'patient,pfs_event,ecog,extra,pfs_days,age',
    'A,1,2,99,120,75',
    'B,0,0,98,400.5,50',
    'C,1,1,97,30,65',
  ]);
  const data = await csvPlanData(path, cox);
  assert.equal(data.rows, 3);
  assert.equal(data.tabularWidth, 2);
  assert.equal(data.targetWidth, 2);
  assert.equal(data.images, undefined);
  // [ (age − 65) / 10, ecog ] per row, in the plan's column order.
  close(data.tabular, [1, 2, -1.5, 0, 0, 1]);
  // [time, event] per row, unscaled.
  close(data.target, [120, 1, 400.5, 0, 30, 1]);
});

test('applyScaling changes only the columns the plan scales', () => {
  const data = {
    rows: 2,
    tabular: Float32Array.from([70, 3, 55, 1]),
    tabularWidth: 2,
    images: undefined,
    imageShape: undefined,
    target: Float32Array.from([0, 1]),
    targetWidth: 1 as const,
  };
  applyScaling(data, { columns: ['age', 'ecog'], scaling: { ecog: { center: 1, scale: 2 } } });
  close(data.tabular, [70, 1, 55, 0]);
});

test('a non-number names the file, line and column, never the value', async () => {
  const path = await csv(['age,ecog,pfs_days,pfs_event', '70,1,100,1', '71,1,200,0', 'seventy,1,300,1']);
  await assert.rejects(csvPlanData(path, cox), (error: unknown) => {
    invalid(path, 'line 4', "column 'age'")(error);
    assert.doesNotMatch((error as Error).message, /seventy/);
    return true;
  });
  for (const bad of ['', 'NaN', 'Infinity', '1e999', '0x10', '1,5']) {
    const cell = bad.includes(',') ? `"${bad}"` : bad;
    const file = await csv(['age,ecog,pfs_days,pfs_event', `70,${cell},100,1`]);
    await assert.rejects(csvPlanData(file, cox), invalid('line 2', "column 'ecog'"), `cell ${bad}`);
  }
  const target = await csv(['age,ecog,pfs_days,pfs_event', '70,1,100,yes']);
  await assert.rejects(csvPlanData(target, cox), invalid('line 2', "column 'pfs_event'"));
});

test('a missing column is named, with the header the file has', async () => {
  const path = await csv(['age,pfs_days,pfs_event,weight', '70,100,1,80']);
  await assert.rejects(
    csvPlanData(path, cox),
    invalid(path, "missing column 'ecog'", '(it has: age, pfs_days, pfs_event, weight)'),
  );
  const both = await csv(['age,ecog', '70,1']);
  await assert.rejects(csvPlanData(both, cox), invalid("missing columns 'pfs_days', 'pfs_event'"));
});

test('classification labels must be 0/1; regression labels may be anything finite', async () => {
  const path = await csv(['responder,suv_max', '1,12.5', '0,3.1', '2,4.4']);
  await assert.rejects(csvPlanData(path, classifier), invalid(path, "label 'responder'", 'row 3'));

  const regression = specOf({ kind: 'tabular-mlp', task: 'regression', features: ['suv_max'], label: 'y' });
  const continuous = await csv(['suv_max,y', '12.5,2', '3.1,-0.75']);
  const data = await csvPlanData(continuous, regression);
  close(data.target, [2, -0.75]);
  close(data.tabular, [12.5, 3.1]);
});

test('survival needs positive times and 0/1 events', async () => {
  for (const time of ['0', '-3']) {
    const path = await csv(['age,ecog,pfs_days,pfs_event', '70,1,100,1', `60,0,${time},0`]);
    await assert.rejects(csvPlanData(path, cox), invalid(path, "time column 'pfs_days'", 'row 2'));
  }
  const path = await csv(['age,ecog,pfs_days,pfs_event', '70,1,100,2']);
  await assert.rejects(csvPlanData(path, cox), invalid("event column 'pfs_event'", 'row 1'));
});

test('a missing file, an empty file and an image plan are refused', async () => {
  await assert.rejects(
    csvPlanData(join(directory, 'absent.csv'), cox),
    (error: unknown) => error instanceof FedpetError && error.code === ErrorCodes.datasetMissing,
  );
  await assert.rejects(csvPlanData(await csv(['age,ecog,pfs_days,pfs_event']), cox), invalid('no data rows'));
  const images = specOf({ kind: 'pet-mip-cnn', mipSize: 16, clinicalFeatures: ['age'] });
  await assert.rejects(
    csvPlanData(await csv(['age,pfs_days,pfs_event', '70,100,1']), images),
    invalid('no images'),
  );
});
