import { randomBytes } from 'node:crypto';

/** A namespace no other test (or run) uses: brokers are shared, names are not. */
export function uniqueNamespace(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export const testUrls = {
  amqp: process.env.FEDPET_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  mqtt: process.env.FEDPET_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  redis: process.env.FEDPET_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
} as const;
