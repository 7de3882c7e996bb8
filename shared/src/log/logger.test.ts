import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { createLogger } from './logger.ts';

test('logger writes one JSON object per line with bound fields and level filtering', () => {
  const lines: string[] = [];
  const logger = createLogger({ service: 'svc', level: 'info', write: (line) => lines.push(line) });
  logger.debug('hidden');
  logger.child({ hospital: 'h1' }).info('hello', { round: 2 });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0] ?? '{}');
  assert.equal(record.msg, 'hello');
  assert.equal(record.service, 'svc');
  assert.equal(record.hospital, 'h1');
  assert.equal(record.round, 2);
  assert.equal(record.level, 'info');
});

test('errors are logged as code and message, never a stack trace', () => {
  const lines: string[] = [];
  const logger = createLogger({ service: 'svc', write: (line) => lines.push(line) });
  logger.error('failed', { error: new FedpetError('INTEGRITY_ERROR', 'hash mismatch') });
  const record = JSON.parse(lines[0] ?? '{}');
  assert.deepEqual(record.error, { code: 'INTEGRITY_ERROR', message: 'hash mismatch' });
  assert.ok(!(lines[0] ?? '').includes('at '), 'no stack frames');
});
