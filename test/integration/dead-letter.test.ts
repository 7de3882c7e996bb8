import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeMessage } from '../../shared/src/contracts/frame.ts';
import { createLogger } from '../../shared/src/log/logger.ts';
import {
  DEAD_REASON_HEADER,
  type IncomingMessage,
  ORIGINAL_TOPIC_HEADER,
} from '../../shared/src/transport/bus.ts';
import { consumeEnvelopes } from '../../shared/src/transport/consume.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

/** What a receiver does with messages it cannot use, on both real brokers. */
for (const kind of ['amqp', 'mqtt'] as const) {
  describe(`invalid messages over ${kind}`, () => {
    test('go to the dead-letter topic with the reason, are logged once, and never reach the handler', async () => {
      const bus = await createBus(testUrls[kind], { namespace: uniqueNamespace(), clientName: 'dlq-test' });
      const logLines: string[] = [];
      const logger = createLogger({ service: 'test', write: (line) => logLines.push(line) });
      const handled: string[] = [];
      const dead: IncomingMessage[] = [];
      let allDead: () => void = () => {};
      const threeDead = new Promise<void>((resolve) => {
        allDead = resolve;
      });
      try {
        const letters = await bus.subscribe(
          { name: 'dead-letters', topics: ['dead-letter.#'] },
          async (message) => {
            dead.push(message);
            if (dead.length === 3) allDead();
          },
        );
        let validHandled: () => void = () => {};
        const handledValid = new Promise<void>((resolve) => {
          validHandled = resolve;
        });
        const inbox = await consumeEnvelopes(
          bus,
          { name: 'inbox', topics: ['error.#'] },
          ['error'],
          logger,
          async (message) => {
            handled.push(message.header.type);
            validHandled();
          },
        );
        const fields = { experimentId: 'exp-dlq', round: 1, sender: 'h1' };
        const valid = encodeMessage('error', fields, {
          code: 'TRAINING_FAILED',
          reason: 'ok',
          retryable: false,
        });
        const json = JSON.parse(valid.subarray(4).toString('utf8'));
        const reframe = (envelope: unknown) => {
          const body = Buffer.from(JSON.stringify(envelope));
          const length = Buffer.alloc(4);
          length.writeUInt32BE(body.length);
          return Buffer.concat([length, body]);
        };
        await bus.publish('error.exp-dlq.h1', Buffer.from('not a frame at all'));
        await bus.publish('error.exp-dlq.h1', reframe({ ...json, v: '2.0' }));
        await bus.publish('error.exp-dlq.h1', reframe({ ...json, body: { code: 'TRAINING_FAILED' } }));
        await bus.publish('error.exp-dlq.h1', valid);
        await Promise.all([threeDead, handledValid]);
        await inbox.close();
        await letters.close();

        assert.deepEqual(handled, ['error'], 'only the valid message reaches the handler');
        const reasons = dead.map((message) => message.headers[DEAD_REASON_HEADER] ?? '');
        assert.match(reasons[0]!, /envelope|frame|JSON/);
        assert.match(reasons[1]!, /protocol version 2\.0 is not supported/);
        assert.match(reasons[2]!, /error body: reason/);
        for (const message of dead) {
          assert.equal(message.topic, 'dead-letter.error.exp-dlq.h1');
          assert.equal(message.headers[ORIGINAL_TOPIC_HEADER], 'error.exp-dlq.h1');
        }
        const rejections = logLines
          .map((line) => JSON.parse(line))
          .filter((record) => record.msg.includes('dead-letter'));
        assert.equal(rejections.length, 3, 'each rejected message is logged exactly once');
        assert.deepEqual(
          rejections.map((record) => record.code),
          ['INVALID_MESSAGE', 'UNSUPPORTED_VERSION', 'INVALID_MESSAGE'],
        );
      } finally {
        await bus.deleteSubscription('inbox');
        await bus.deleteSubscription('dead-letters');
        await bus.removeNamespace();
        await bus.close();
      }
    });
  });
}
