/** Picks the bus adapter from the broker URL's scheme, so services only ever see `Bus`. */
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { connectAmqpBus } from './amqp-bus.ts';
import { redactUrl } from './broker-url.ts';
import type { Bus, BusOptions } from './bus.ts';
import { connectMqttBus } from './mqtt-bus.ts';

// Re-exported so callers redacting any broker URL (Redis too) need only this module.
export { redactUrl };

const AMQP_SCHEMES = new Set(['amqp:', 'amqps:']);
const MQTT_SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);

export async function createBus(url: string, options: BusOptions): Promise<Bus> {
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    throw new FedpetError(ErrorCodes.invalidConfig, `bus URL "${redactUrl(url)}" is not a valid URL`);
  }
  if (AMQP_SCHEMES.has(scheme)) return connectAmqpBus(url, options);
  if (MQTT_SCHEMES.has(scheme)) return connectMqttBus(url, options);
  throw new FedpetError(
    ErrorCodes.invalidConfig,
    `unsupported bus URL scheme "${scheme}" in ${redactUrl(url)}: use amqp://, amqps://, mqtt://, mqtts:// or ws://`,
  );
}
