import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage } from '../contracts/frame.ts';
import { generateIdentityKeyPair } from '../secagg/identity-keys.ts';
import { FrameVerifier, SIGNATURE_HEADER } from '../security/frame-signing.ts';
import type { Bus, BusHeaders, IncomingMessage } from './bus.ts';
import { SigningBus } from './signing-bus.ts';

/** Records what reaches the wrapped bus. */
function recordingBus() {
  const calls: { method: string; args: unknown[] }[] = [];
  const published: { topic: string; body: Uint8Array; headers: BusHeaders | undefined }[] = [];
  const bus: Bus = {
    kind: 'mqtt',
    namespace: 'ns-1',
    publish: async (topic, body, headers) => {
      published.push({ topic, body, headers });
    },
    subscribe: async (...args) => {
      calls.push({ method: 'subscribe', args });
      return { close: async () => {} };
    },
    deadLetter: async (...args) => {
      calls.push({ method: 'deadLetter', args });
    },
    deleteSubscription: async (...args) => {
      calls.push({ method: 'deleteSubscription', args });
    },
    removeNamespace: async () => {
      calls.push({ method: 'removeNamespace', args: [] });
    },
    close: async () => {
      calls.push({ method: 'close', args: [] });
    },
  };
  return { bus, calls, published };
}

const h1 = generateIdentityKeyPair();
const frame = (sender: string) =>
  encodeMessage(
    'progress',
    { experimentId: 'exp-1', round: 2, sender },
    { event: 'experiment.failed', code: 'CANCELLED', reason: 'x' },
  );

test('publish keeps the caller headers and adds a signature that verifies', async () => {
  const inner = recordingBus();
  const bus = new SigningBus(inner.bus, h1.privateKey, { sender: 'h1' });
  assert.equal(bus.kind, 'mqtt');
  assert.equal(bus.namespace, 'ns-1');
  const body = frame('h1');
  await bus.publish('progress.exp-1', body, { traceparent: '00-abc-def-01' });
  await bus.publish('progress.exp-1', body);
  assert.equal(inner.published.length, 2);
  const [first, second] = inner.published;
  assert.equal(first!.headers?.traceparent, '00-abc-def-01');
  assert.equal(Buffer.compare(Buffer.from(first!.body), body), 0, 'the frame itself is unchanged');
  assert.deepEqual(Object.keys(second!.headers ?? {}), [SIGNATURE_HEADER]);
  const verifier = new FrameVerifier({ keyOf: (sender) => (sender === 'h1' ? h1.publicKey : undefined) });
  const message: IncomingMessage = {
    topic: first!.topic,
    body: Buffer.from(first!.body),
    headers: first!.headers ?? {},
    redelivered: false,
  };
  assert.deepEqual(verifier.check(decodeMessage(message.body), message), { ok: true });
});

test('a frame naming another sender is refused before it is signed', async () => {
  const inner = recordingBus();
  const bus = new SigningBus(inner.bus, h1.privateKey, { sender: 'h1' });
  await assert.rejects(bus.publish('progress.exp-1', frame('h2')), /refusing to sign a frame from "h2"/);
  await assert.rejects(bus.publish('progress.exp-1', Buffer.from('raw bytes')), /cannot sign/);
  assert.equal(inner.published.length, 0);
  assert.throws(() => new SigningBus(inner.bus, h1.publicKey), /Ed25519 private key/);
});

test('everything but publish is delegated unchanged (dead letters keep their headers)', async () => {
  const inner = recordingBus();
  const bus = new SigningBus(inner.bus, h1.privateKey);
  const message: IncomingMessage = {
    topic: 't',
    body: Buffer.from('x'),
    headers: { [SIGNATURE_HEADER]: 'original' },
    redelivered: false,
  };
  const handler = async () => {};
  await bus.subscribe({ name: 's', topics: ['t'] }, handler);
  await bus.deadLetter(message, 'why');
  await bus.deleteSubscription('s');
  await bus.removeNamespace();
  await bus.close();
  assert.deepEqual(inner.calls, [
    { method: 'subscribe', args: [{ name: 's', topics: ['t'] }, handler] },
    { method: 'deadLetter', args: [message, 'why'] },
    { method: 'deleteSubscription', args: ['s'] },
    { method: 'removeNamespace', args: [] },
    { method: 'close', args: [] },
  ]);
  assert.equal(inner.published.length, 0, 'a dead letter is not re-signed');
});
