import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTrainerConfig, type TrainerConfig } from './config.ts';

const required = [
  '--hospital',
  'h1',
  '--dataset',
  'tabular=/data/t.csv',
  '--identity',
  'k.json',
  '--federation-keys',
  'f.yaml',
];

function read(argv: string[], env: NodeJS.ProcessEnv = {}): TrainerConfig {
  const config = readTrainerConfig([...required, ...argv], env);
  assert.notEqual(config, 'help');
  return config as TrainerConfig;
}

test('training threads: 1 by default, a count, or auto, from the flag or FEDPET_TRAIN_THREADS', () => {
  assert.equal(read([]).trainThreads, 1);
  assert.equal(read(['--train-threads', '4']).trainThreads, 4);
  assert.equal(read([], { FEDPET_TRAIN_THREADS: 'auto' }).trainThreads, 'auto');
  assert.equal(
    read(['--train-threads', '2'], { FEDPET_TRAIN_THREADS: '8' }).trainThreads,
    2,
    'the flag wins',
  );
});

test('the forward work a batch needs before it is split: 300 MFLOP by default, 0 to always split', () => {
  assert.equal(read([]).trainThreadsMinMflop, 300);
  assert.equal(read(['--train-threads-min-mflop', '0']).trainThreadsMinMflop, 0);
  assert.equal(read([], { FEDPET_TRAIN_THREADS_MIN_MFLOP: '50' }).trainThreadsMinMflop, 50);
  assert.throws(
    () => read(['--train-threads-min-mflop=-1']),
    /FEDPET_TRAIN_THREADS_MIN_MFLOP: "-1" must be an integer/,
  );
});

test('a training thread count that is not 1–256 or auto is an error naming the setting', () => {
  for (const bad of ['0', 'zero', '1.5', '257']) {
    assert.throws(
      () => read(['--train-threads', bad]),
      new RegExp(
        `FEDPET_TRAIN_THREADS: "${bad.replace('.', '\\.')}" must be an integer from 1 to 256, or auto`,
      ),
    );
  }
});
