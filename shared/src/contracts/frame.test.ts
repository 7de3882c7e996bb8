import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { decodeMessage, encodeMessage } from './frame.ts';
import type { UpdateBody } from './messages.ts';

const fields = { experimentId: 'exp-1', round: 3, sender: 'h1' };
const sha = 'a'.repeat(64);
const update: UpdateBody = {
  updateId: '5b0b9f2c-9d5e-4a43-8a0b-0b4b1c8f8a11',
  hospital: 'h1',
  kind: 'train',
  numSamples: 120,
  metrics: { trainLoss: 0.4 },
  timingsMs: { train: 12 },
  payload: { index: 0, count: 1, chunkBytes: 1048576, totalBytes: 3, crc32: 0, payloadSha256: sha },
};

function rejects(frame: Buffer, code: string, pattern: RegExp): void {
  assert.throws(
    () => decodeMessage(frame),
    (error: unknown) => error instanceof FedpetError && error.code === code && pattern.test(error.message),
  );
}

function withEnvelope(mutate: (envelope: Record<string, unknown>) => void): Buffer {
  const frame = encodeMessage('update', fields, update, Buffer.from([1, 2, 3]));
  const length = frame.readUInt32BE(0);
  const envelope = JSON.parse(frame.subarray(4, 4 + length).toString('utf8'));
  mutate(envelope);
  const json = Buffer.from(JSON.stringify(envelope));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(json.length);
  return Buffer.concat([prefix, json, frame.subarray(4 + length)]);
}

test('a frame round-trips envelope, body and binary payload', () => {
  const decoded = decodeMessage(encodeMessage('update', fields, update, Buffer.from([1, 2, 3])));
  assert.equal(decoded.header.type, 'update');
  assert.equal(decoded.header.v, '1.0');
  assert.equal(decoded.header.experimentId, 'exp-1');
  assert.equal(decoded.header.round, 3);
  assert.equal(decoded.header.sender, 'h1');
  assert.match(decoded.header.id, /^[0-9a-f-]{36}$/);
  assert.ok(!Number.isNaN(Date.parse(decoded.header.sentAt)));
  assert.deepEqual(decoded.body, update);
  assert.deepEqual([...decoded.payload], [1, 2, 3]);
});

test('an unknown major version is rejected as UNSUPPORTED_VERSION; a newer minor is accepted', () => {
  rejects(
    withEnvelope((e) => {
      e.v = '2.0';
    }),
    'UNSUPPORTED_VERSION',
    /2\.0 is not supported/,
  );
  assert.equal(
    decodeMessage(
      withEnvelope((e) => {
        e.v = '1.7';
      }),
    ).header.v,
    '1.7',
  );
});

test('broken frames and invalid envelopes are INVALID_MESSAGE with the reason', () => {
  rejects(Buffer.from([0, 0]), 'INVALID_MESSAGE', /shorter than its length prefix/);
  rejects(Buffer.from([0, 0, 1, 0, 123]), 'INVALID_MESSAGE', /exceeds the frame/);
  rejects(Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]), 'INVALID_MESSAGE', /not JSON/);
  rejects(
    withEnvelope((e) => {
      e.type = 'gossip';
    }),
    'INVALID_MESSAGE',
    /unknown message type "gossip"/,
  );
  rejects(
    withEnvelope((e) => {
      e.round = -1;
    }),
    'INVALID_MESSAGE',
    /round/,
  );
  rejects(
    withEnvelope((e) => {
      e.experimentId = 'Bad Id';
    }),
    'INVALID_MESSAGE',
    /experimentId/,
  );
  rejects(
    withEnvelope((e) => {
      (e.body as { numSamples: unknown }).numSamples = 'many';
    }),
    'INVALID_MESSAGE',
    /update body: numSamples/,
  );
});

test('a receiver can restrict the types it accepts', () => {
  const frame = encodeMessage('error', fields, {
    code: 'TRAINING_FAILED',
    reason: 'out of memory',
    retryable: false,
  });
  assert.throws(() => decodeMessage(frame, ['update']), /unexpected message type "error"/);
  assert.equal(decodeMessage(frame, ['update', 'error']).header.type, 'error');
});

test('error replies carry a stable code and a bounded reason, never a stack', () => {
  const tooLong = encodeMessage('error', fields, { code: 'X', reason: 'r', retryable: false });
  assert.equal(decodeMessage(tooLong).header.type, 'error');
  const lowercase = withEnvelope((e) => {
    e.type = 'error';
    e.body = { code: 'not-a-code', reason: 'x', retryable: false };
  });
  rejects(lowercase, 'INVALID_MESSAGE', /error body: code/);
  const huge = withEnvelope((e) => {
    e.type = 'error';
    e.body = { code: 'INTERNAL', reason: 'x'.repeat(5000), retryable: false };
  });
  rejects(huge, 'INVALID_MESSAGE', /reason/);
});
