import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChunkAssembler, splitIntoChunks } from '../../shared/src/codec/chunking.ts';
import { decodeTensors, encodeTensors } from '../../shared/src/codec/tensor-codec.ts';
import { type DecodedMessage, encodeMessage } from '../../shared/src/contracts/frame.ts';
import type { UpdateBody } from '../../shared/src/contracts/messages.ts';
import { createLogger } from '../../shared/src/log/logger.ts';
import { type Bus, MAX_MESSAGE_BYTES } from '../../shared/src/transport/bus.ts';
import { consumeEnvelopes } from '../../shared/src/transport/consume.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';
import { Topics } from '../../shared/src/transport/topics.ts';
import { publishUpdate } from '../../shared/src/transport/update-publisher.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

const logger = createLogger({ service: 'test', level: 'error' });
const fields = { experimentId: 'big-exp', round: 1, sender: 'h1' };
const summary = { hospital: 'h1', kind: 'train' as const, numSamples: 10, metrics: {}, timingsMs: {} };

/** Receives update chunks, reassembles and verifies them as the aggregator does. */
async function receiveUpdates(bus: Bus, name: string, expected: number) {
  const results: (Buffer | Error)[] = [];
  const frames: number[] = [];
  const assemblers = new Map<string, ChunkAssembler>();
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const subscription = await consumeEnvelopes(
    bus,
    { name, topics: [Topics.allUpdates], prefetch: 8 },
    ['update'],
    logger,
    async (message: DecodedMessage) => {
      const body = message.body as UpdateBody;
      frames.push(4 + message.payload.length);
      let assembler = assemblers.get(body.updateId);
      if (!assembler) {
        assembler = new ChunkAssembler({ expectedSha256: body.payload.payloadSha256 });
        assemblers.set(body.updateId, assembler);
      }
      try {
        if (assembler.add({ ...body.payload, data: message.payload })) results.push(assembler.result());
      } catch (error) {
        results.push(error as Error);
      }
      if (results.length === expected) done();
    },
  );
  return { results, frames, finished, subscription };
}

for (const kind of ['amqp', 'mqtt'] as const) {
  describe(`a 50 MB update over ${kind}`, () => {
    test('arrives in chunks under 4 MiB and decodes bit for bit; a corrupted chunk is detected', async () => {
      const bus = await createBus(testUrls[kind], { namespace: uniqueNamespace(), clientName: 'chunk-test' });
      const name = 'aggregator.updates';
      try {
        const values = new Float32Array(12_500_000);
        for (let i = 0; i < values.length; i++) values[i] = Math.sin(i) * 1000;
        const payload = encodeTensors([{ name: 'big/kernel', shape: [2500, 5000], values }]);
        assert.ok(payload.length > 50_000_000);
        const receiver = await receiveUpdates(bus, name, 2);

        const sent = await publishUpdate(bus, fields, summary, payload);
        assert.ok(sent.chunks >= 48, `${sent.chunks} chunks`);

        // The same kind of update, with one byte of one chunk flipped on the wire.
        const corrupt = encodeTensors([{ name: 'small', shape: [3], values: Float32Array.from([1, 2, 3]) }]);
        const { chunks } = splitIntoChunks(corrupt, { chunkBytes: 8 });
        const updateId = '0d4f3c2b-1a09-4e8d-9c7b-6a5f4e3d2c1b';
        for (const { data, ...descriptor } of chunks) {
          const tampered = Buffer.from(data);
          if (descriptor.index === 2) tampered[0]! ^= 0x01;
          await bus.publish(
            Topics.update('big-exp', 'h1'),
            encodeMessage('update', fields, { ...summary, updateId, payload: descriptor }, tampered),
          );
        }

        await receiver.finished;
        await receiver.subscription.close();
        assert.ok(Math.max(...receiver.frames) < MAX_MESSAGE_BYTES);
        const [big, broken] = receiver.results;
        assert.ok(Buffer.isBuffer(big));
        const decoded = decodeTensors(big)[0]!;
        assert.deepEqual(decoded.shape, [2500, 5000]);
        assert.ok(
          Buffer.from(decoded.values.buffer, decoded.values.byteOffset, decoded.values.byteLength).equals(
            Buffer.from(values.buffer),
          ),
        );
        assert.ok(broken instanceof Error);
        assert.match(broken.message, /chunk 2/);
        assert.equal((broken as Error & { code?: string }).code, 'INTEGRITY_ERROR');
      } finally {
        await bus.deleteSubscription(name);
        await bus.removeNamespace();
        await bus.close();
      }
    });
  });
}
