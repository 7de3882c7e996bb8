import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { test } from 'node:test';
import { decodeMessage, encodeMessage } from '../contracts/frame.ts';
import type { Progress } from '../contracts/messages.ts';
import { FedpetError } from '../errors/fedpet-error.ts';
import { generateIdentityKeyPair } from '../secagg/identity-keys.ts';
import type { IncomingMessage } from '../transport/bus.ts';
import { type FrameCheck, FrameVerifier, SIGNATURE_HEADER, signFrame } from './frame-signing.ts';

const keys = {
  h1: generateIdentityKeyPair(),
  h2: generateIdentityKeyPair(),
  aggregator: generateIdentityKeyPair(),
};
const keyOf = (sender: string): KeyObject | undefined => keys[sender as keyof typeof keys]?.publicKey;

const progress: Progress = { event: 'experiment.failed', code: 'CANCELLED', reason: 'test' };

function frame(sender: string, round = 1, experimentId = 'exp-1'): Buffer {
  return encodeMessage('progress', { experimentId, round, sender }, progress);
}

/** A frame with a binary payload after the envelope (as update chunks carry). */
function withPayload(sender: string, round: number, payload: Uint8Array): Buffer {
  return encodeMessage('progress', { experimentId: 'exp-1', round, sender }, progress, payload);
}

function incoming(body: Buffer, headers: Record<string, string>, redelivered = false): IncomingMessage {
  return { topic: 'progress.exp-1', body, headers, redelivered };
}

function signed(body: Buffer, key = keys.h1.privateKey): IncomingMessage {
  return incoming(body, { traceparent: 'x', [SIGNATURE_HEADER]: signFrame(key, body) });
}

function check(verifier: FrameVerifier, message: IncomingMessage): FrameCheck {
  return verifier.check(decodeMessage(message.body), message);
}

function rejected(result: FrameCheck): string {
  assert.equal(result.ok, false, 'expected a rejection');
  return result.ok ? '' : result.reason;
}

test('a signed frame verifies; a header-less or garbled one is missing-signature', () => {
  const verifier = new FrameVerifier({ keyOf });
  assert.deepEqual(check(verifier, signed(frame('h1'))), { ok: true });
  assert.equal(rejected(check(verifier, incoming(frame('h1'), {}))), 'missing-signature');
  assert.equal(
    rejected(check(verifier, incoming(frame('h1'), { [SIGNATURE_HEADER]: 'not base64 at all' }))),
    'missing-signature',
  );
  const short = Buffer.alloc(32).toString('base64');
  assert.equal(
    rejected(check(verifier, incoming(frame('h1'), { [SIGNATURE_HEADER]: short }))),
    'missing-signature',
  );
});

test('one flipped bit in the envelope or the payload breaks the signature', () => {
  const body = withPayload('h1', 1, new Uint8Array(256).fill(7));
  assert.equal(decodeMessage(body).payload.length, 256);
  const envelopeLength = body.readUInt32BE(0);
  const signature = signFrame(keys.h1.privateKey, body);
  const verifier = new FrameVerifier({ keyOf });
  assert.deepEqual(check(verifier, incoming(body, { [SIGNATURE_HEADER]: signature })), { ok: true });

  // Inside the envelope: a digit of the round number (the frame stays valid JSON, so it decodes).
  const roundAt = body.indexOf('"round":1') + '"round":'.length;
  const envelopeFlip = Buffer.from(body);
  envelopeFlip[roundAt]! ^= 0x01; // '1' → '0'
  assert.equal(decodeMessage(envelopeFlip).header.round, 0);
  const fresh = new FrameVerifier({ keyOf });
  assert.equal(
    rejected(check(fresh, incoming(envelopeFlip, { [SIGNATURE_HEADER]: signature }))),
    'bad-signature',
  );

  for (const at of [4 + envelopeLength, body.length - 1]) {
    const payloadFlip = Buffer.from(body);
    payloadFlip[at]! ^= 0x80;
    assert.equal(
      rejected(check(fresh, incoming(payloadFlip, { [SIGNATURE_HEADER]: signature }))),
      'bad-signature',
    );
  }
  // A flipped bit in the signature itself.
  const bytes = Buffer.from(signature, 'base64');
  bytes[10]! ^= 0x04;
  assert.equal(
    rejected(check(fresh, incoming(body, { [SIGNATURE_HEADER]: bytes.toString('base64') }))),
    'bad-signature',
  );
});

test("a frame signed by h2 but claiming to be h1's is bad-signature; an unknown sender is unknown-key", () => {
  const verifier = new FrameVerifier({ keyOf });
  const result = verifier.check(decodeMessage(frame('h1')), signed(frame('h1'), keys.h2.privateKey));
  assert.equal(rejected(result), 'bad-signature');
  assert.match(result.ok ? '' : result.detail, /not signed by h1's key/);
  assert.equal(rejected(check(verifier, signed(frame('h9'), keys.h1.privateKey))), 'unknown-key');
  // The signature binds the header fields: a signature of another frame does not transfer.
  const other = signFrame(keys.h1.privateKey, frame('h1'));
  assert.equal(
    rejected(check(verifier, incoming(frame('h1'), { [SIGNATURE_HEADER]: other }))),
    'bad-signature',
  );
});

test('the same frame twice is a replay, unless the broker redelivers it', () => {
  const verifier = new FrameVerifier({ keyOf });
  const message = signed(frame('h1', 3));
  assert.deepEqual(check(verifier, message), { ok: true });
  const replay = rejected(check(verifier, message));
  assert.equal(replay, 'replay');
  assert.deepEqual(check(verifier, { ...message, redelivered: true }), { ok: true });
  // Another message of the same sender, type and round is not a replay (its id differs).
  assert.deepEqual(check(verifier, signed(frame('h1', 3))), { ok: true });
  // The same frame in another experiment's memory is independent.
  assert.deepEqual(check(verifier, signed(frame('h1', 3, 'exp-2'))), { ok: true });
});

test('an older round from the same sender is stale-round, even redelivered; other senders are not moved', () => {
  const verifier = new FrameVerifier({ keyOf });
  const early = signed(frame('h1', 4));
  assert.deepEqual(check(verifier, signed(frame('h1', 5))), { ok: true });
  assert.equal(rejected(check(verifier, early)), 'stale-round');
  assert.equal(rejected(check(verifier, { ...early, redelivered: true })), 'stale-round');
  // A signed frame from h2 for a far-future round moves only h2's window (fuzz-found: it used to block everyone).
  assert.deepEqual(check(verifier, signed(frame('h2', Number.MAX_SAFE_INTEGER), keys.h2.privateKey)), {
    ok: true,
  });
  assert.deepEqual(check(verifier, signed(frame('h1', 6))), { ok: true });
  // Other experiments are not moved along.
  assert.deepEqual(check(verifier, signed(frame('h1', 4, 'exp-2'))), { ok: true });
  // A forged round-9 message does not advance the guard: round 6 again (new nonce) still passes.
  const forged = incoming(frame('h1', 9), {
    [SIGNATURE_HEADER]: signFrame(keys.h2.privateKey, frame('h1', 9)),
  });
  assert.equal(rejected(check(verifier, forged)), 'bad-signature');
  assert.deepEqual(check(verifier, signed(frame('h1', 6))), { ok: true });
});

test('heartbeats (experiment "none") must be recent instead of unique', () => {
  let now = Date.parse('2030-01-01T12:00:00Z');
  const verifier = new FrameVerifier({ keyOf, now: () => now, maxClockSkewMs: 60_000 });
  const heartbeat = (sentAt: string) => {
    const body = frame('h1', 0, 'none');
    const json = JSON.parse(body.subarray(4).toString('utf8'));
    const text = Buffer.from(JSON.stringify({ ...json, sentAt }));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(text.length);
    return signed(Buffer.concat([length, text]));
  };
  const recent = heartbeat('2030-01-01T11:59:30.000Z');
  assert.deepEqual(check(verifier, recent), { ok: true });
  assert.deepEqual(check(verifier, recent), { ok: true }, 'no nonce memory for heartbeats');
  const old = check(verifier, heartbeat('2030-01-01T11:58:00.000Z'));
  assert.equal(rejected(old), 'stale-message');
  assert.match(old.ok ? '' : old.detail, /120 s from now \(limit 60 s\)/);
  assert.equal(rejected(check(verifier, heartbeat('2030-01-01T12:05:00.000Z'))), 'stale-message');
  now += 10 * 60_000;
  assert.equal(rejected(check(verifier, recent)), 'stale-message', 'a captured heartbeat expires');
  assert.equal(verifier.rememberedExperiments, 0);
});

test('counters add up every verdict', () => {
  const verifier = new FrameVerifier({ keyOf });
  const message = signed(frame('h1', 2));
  check(verifier, message);
  check(verifier, message);
  check(verifier, { ...message, redelivered: true });
  check(verifier, signed(frame('h1', 3)));
  check(verifier, message);
  check(verifier, incoming(frame('h1'), {}));
  check(verifier, signed(frame('h9')));
  check(verifier, signed(frame('h2'), keys.h1.privateKey));
  assert.deepEqual(verifier.counts(), {
    accepted: 3,
    replay: 1,
    'stale-round': 1,
    'missing-signature': 1,
    'unknown-key': 1,
    'bad-signature': 1,
    'stale-message': 0,
  });
});

test('experiment memory is bounded: idle experiments and the least recently used are forgotten', () => {
  let now = 0;
  const verifier = new FrameVerifier({ keyOf, now: () => now, experimentIdleMs: 1000, maxExperiments: 3 });
  const first = signed(frame('h1', 1, 'exp-a'));
  check(verifier, first);
  check(verifier, signed(frame('h1', 1, 'exp-b')));
  check(verifier, signed(frame('h1', 1, 'exp-c')));
  now = 10;
  check(verifier, signed(frame('h1', 2, 'exp-a'))); // exp-a is now the most recent
  check(verifier, signed(frame('h1', 1, 'exp-d'))); // evicts exp-b, the least recently used
  assert.equal(verifier.rememberedExperiments, 3);
  assert.equal(rejected(check(verifier, first)), 'stale-round', 'exp-a is still remembered');
  now = 5000;
  check(verifier, signed(frame('h1', 1, 'exp-e')));
  assert.equal(verifier.rememberedExperiments, 1, 'idle experiments are dropped');
});

test('signFrame refuses what is not a frame', () => {
  const key = keys.h1.privateKey;
  assert.throws(() => signFrame(key, new Uint8Array([0, 0])), FedpetError);
  assert.throws(() => signFrame(key, Buffer.from('\u0000\u0000\u0000\u0002{}')), /envelope type is missing/);
  assert.throws(() => signFrame(key, Buffer.from('\u0000\u0000\u0000\u0009not json!')), /not JSON/);
  assert.throws(() => signFrame(keys.h1.publicKey, frame('h1')), /Ed25519 private key/);
});
