import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export interface Telemetry {
  /** True when spans are exported (OTLP over HTTP). */
  readonly exporting: boolean;
  readonly endpoint: string | undefined;
  /** Flushes pending spans; call once on shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Decides from the standard OTEL_* variables whether to export: only when an
 * OTLP endpoint is configured and neither OTEL_SDK_DISABLED nor
 * OTEL_TRACES_EXPORTER=none says otherwise. Tracing is off by default.
 */
export function tracingEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER !== undefined && env.OTEL_TRACES_EXPORTER !== 'otlp') return undefined;
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
}

/**
 * Started once in each service entry. Context propagation (W3C trace
 * context, async-local context) is always on, so a trace passes through a
 * service even when that service itself exports nothing.
 */
export function startTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): Telemetry {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const endpoint = tracingEndpoint(env);
  if (!endpoint) {
    return { exporting: false, endpoint: undefined, shutdown: async () => {} };
  }
  // The exporter reads OTEL_EXPORTER_OTLP_* itself (endpoint, headers, timeout).
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 1000 })],
  });
  provider.register();
  return {
    exporting: true,
    endpoint,
    shutdown: async () => {
      await provider.shutdown();
    },
  };
}
