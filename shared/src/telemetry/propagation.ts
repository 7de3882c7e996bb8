import { type Context, context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';

/** Writes the W3C trace context of `ctx` into a string map (AMQP headers, MQTT user properties, job data). */
export function injectTraceContext(carrier: Record<string, string> = {}, ctx: Context = context.active()) {
  propagation.inject(ctx, carrier);
  return carrier;
}

/**
 * Reads a trace context from a carrier. A malformed or hostile header never
 * throws: the message is then handled in a fresh trace.
 */
export function extractTraceContext(carrier: Record<string, string> | undefined): Context {
  if (!carrier) return ROOT_CONTEXT;
  try {
    return propagation.extract(ROOT_CONTEXT, carrier);
  } catch {
    return ROOT_CONTEXT;
  }
}

/** Only the trace headers of a carrier, to copy into job data. */
export function traceHeaders(carrier: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate']) {
    const value = carrier[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
