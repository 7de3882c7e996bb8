/**
 * A stand-in for hospitals, in its own process so its memory is not counted
 * as the aggregator's: publishes N updates of P float32 parameters through the
 * AMQP bus, one after another, as trainers do.
 * Usage: publish-updates.ts <namespace> <updates> <parameters>
 */
import { encodeTensors } from '../../../shared/src/codec/tensor-codec.ts';
import { createBus } from '../../../shared/src/transport/create-bus.ts';
import { publishUpdate } from '../../../shared/src/transport/update-publisher.ts';

const [namespace, updatesText, paramsText] = process.argv.slice(2);
const updates = Number(updatesText);
const params = Number(paramsText);
const bus = await createBus(process.env.FEDPET_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', {
  namespace: namespace!,
  clientName: 'bench-hospitals',
});
const values = new Float32Array(params);
for (let k = 1; k <= updates; k++) {
  values.fill(k / 1000);
  const hospital = `h${k}`;
  await publishUpdate(
    bus,
    { experimentId: 'bench', round: 1, sender: hospital },
    { hospital, kind: 'train', numSamples: 100 + k, metrics: {}, timingsMs: {} },
    encodeTensors([{ name: 'w', shape: [params], values }]),
  );
}
await bus.close();
