import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../../shared/src/contracts/frame.ts';
import type { Progress } from '../../shared/src/contracts/messages.ts';
import { createLogger } from '../../shared/src/log/logger.ts';
import { generateIdentityKeyPair } from '../../shared/src/secagg/identity-keys.ts';
import { FrameVerifier, SIGNATURE_HEADER, signFrame } from '../../shared/src/security/frame-signing.ts';
import {
  DEAD_REASON_HEADER,
  type IncomingMessage,
  ORIGINAL_TOPIC_HEADER,
  type Subscription,
} from '../../shared/src/transport/bus.ts';
import { consumeEnvelopes } from '../../shared/src/transport/consume.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';
import { SigningBus } from '../../shared/src/transport/signing-bus.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

const keys = { h1: generateIdentityKeyPair(), h2: generateIdentityKeyPair() };
const progress: Progress = { event: 'experiment.failed', code: 'CANCELLED', reason: 'signed-bus test' };
const topic = 'progress.exp-signed';
const fields = { experimentId: 'exp-signed', round: 1, sender: 'h1' };

/** Resolves once `count` items were pushed. */
function collector<T>(count: number) {
  const items: T[] = [];
  let resolve: () => void = () => {};
  const done = new Promise<void>((settle) => {
    resolve = settle;
  });
  return {
    items,
    done,
    push(item: T) {
      items.push(item);
      if (items.length === count) resolve();
    },
  };
}

const idOf = (body: Buffer) => decodeMessage(body).header.id;

/** Fails (and so reaches the cleanup) instead of waiting forever for a message that never comes. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Signed publishing and verified consuming on both real brokers. */
for (const kind of ['amqp', 'mqtt'] as const) {
  describe(`signed frames over ${kind}`, () => {
    test('signed messages are handled; forged, unsigned and replayed ones are dead-lettered with the reason', {
      timeout: 30_000,
    }, async () => {
      const bus = await createBus(testUrls[kind], {
        namespace: uniqueNamespace(),
        clientName: 'signed-test',
      });
      const signing = new SigningBus(bus, keys.h1.privateKey, { sender: 'h1' });
      const logLines: string[] = [];
      const logger = createLogger({ service: 'test', write: (line) => logLines.push(line) });
      const verifier = new FrameVerifier({
        keyOf: (sender) => keys[sender as keyof typeof keys]?.publicKey,
      });
      const rejected: string[] = [];
      const open: Subscription[] = [];
      try {
        const dead = collector<IncomingMessage>(3);
        open.push(
          await bus.subscribe({ name: 'dead-letters', topics: ['dead-letter.#'] }, async (message) =>
            dead.push(message),
          ),
        );
        const firstHandled = collector<IncomingMessage>(1);
        const handled = collector<IncomingMessage>(2);
        open.push(
          await consumeEnvelopes(
            bus,
            { name: 'inbox', topics: ['progress.#'] },
            ['progress'],
            logger,
            async (_decoded, raw) => {
              firstHandled.push(raw);
              handled.push(raw);
            },
            { verifier, onRejected: (reason) => rejected.push(reason) },
          ),
        );

        const first = encodeMessage('progress', fields, progress);
        await signing.publish(topic, first, {
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        });
        await within(firstHandled.done, 10_000, 'the first signed message');
        const captured = firstHandled.items[0]!;
        assert.equal(captured.headers.traceparent?.slice(0, 35), '00-0af7651916cd43dd8448eb211c80319c');

        // Signed by h2's key while claiming to come from h1.
        const forged = encodeMessage('progress', fields, progress);
        const forgedSignature = signFrame(keys.h2.privateKey, forged);
        await bus.publish(topic, forged, { [SIGNATURE_HEADER]: forgedSignature });
        const unsigned = encodeMessage('progress', fields, progress);
        await bus.publish(topic, unsigned);
        // The captured frame again, with its original (valid) signature header.
        await bus.publish(topic, captured.body, captured.headers);
        const second = encodeMessage('progress', fields, progress);
        await signing.publish(topic, second);

        await within(Promise.all([dead.done, handled.done]), 10_000, 'three dead letters and two handled');
        const expected = new Map([
          [idOf(forged), 'bad-signature'],
          [idOf(unsigned), 'missing-signature'],
          [idOf(first), 'replay'],
        ]);
        const reasons = new Map(
          dead.items.map((message) => [idOf(message.body), message.headers[DEAD_REASON_HEADER] ?? '']),
        );
        assert.equal(reasons.size, 3);
        for (const [id, reason] of expected) {
          assert.match(
            reasons.get(id) ?? '(not dead-lettered)',
            new RegExp(`^signature check failed \\(${reason}\\): `),
          );
        }
        for (const message of dead.items) {
          assert.equal(message.topic, `dead-letter.${topic}`);
          assert.equal(message.headers[ORIGINAL_TOPIC_HEADER], topic);
        }
        const forgedLetter = dead.items.find((message) => idOf(message.body) === idOf(forged))!;
        assert.equal(
          forgedLetter.headers[SIGNATURE_HEADER],
          forgedSignature,
          'the dead letter keeps its headers',
        );

        assert.deepEqual(
          handled.items.map((message) => idOf(message.body)),
          [idOf(first), idOf(second)],
          'only the signed originals reach the handler',
        );
        assert.deepEqual([...rejected].sort(), ['bad-signature', 'missing-signature', 'replay']);
        const records = logLines.map((line) => JSON.parse(line));
        const warnings = records.filter((record) => String(record.msg).startsWith('message rejected: '));
        assert.deepEqual(warnings.map((record) => record.msg).sort(), [
          'message rejected: bad-signature',
          'message rejected: missing-signature',
          'message rejected: replay',
        ]);
        for (const record of warnings) {
          assert.equal(record.sender, 'h1');
          assert.equal(record.type, 'progress');
          assert.equal(record.experimentId, 'exp-signed');
          assert.equal(record.round, 1);
          assert.equal(record.topic, topic);
        }
        assert.deepEqual(verifier.counts(), {
          accepted: 2,
          'bad-signature': 1,
          'missing-signature': 1,
          replay: 1,
          'stale-round': 0,
          'stale-message': 0,
          'unknown-key': 0,
        });
      } finally {
        for (const subscription of open) await subscription.close();
        await bus.deleteSubscription('inbox');
        await bus.deleteSubscription('dead-letters');
        await bus.removeNamespace();
        await signing.close();
      }
    });
  });
}
