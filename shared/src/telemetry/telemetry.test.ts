import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { extractTraceContext, injectTraceContext } from './propagation.ts';
import { tracingEndpoint } from './sdk.ts';
import { withConsumerSpan, withProducerSpan } from './spans.ts';

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);

test('a consumer span continues the producer trace through a header map', async () => {
  exporter.reset();
  const headers = await withProducerSpan('publish', { topic: 't' }, async (carrier) => carrier);
  assert.match(headers.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  await withConsumerSpan('consume', headers, {}, async () => {});
  const [producer, consumer] = exporter.getFinishedSpans();
  assert.ok(producer && consumer);
  assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId);
  assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
});

test('a malformed trace header never throws and starts a new trace', async () => {
  exporter.reset();
  const ctx = extractTraceContext({ traceparent: 'garbage-\u0000-header' });
  assert.equal(trace.getSpanContext(ctx), undefined);
  await withConsumerSpan('consume', { traceparent: '00-zz-yy-01' }, {}, async () => {});
  assert.equal(exporter.getFinishedSpans().length, 1);
  assert.deepEqual(injectTraceContext({}, ctx), {});
});

test('tracing is exported only when an OTLP endpoint is configured', () => {
  assert.equal(tracingEndpoint({}), undefined);
  assert.equal(tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), 'http://c:4318');
  assert.equal(
    tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
    undefined,
  );
  assert.equal(
    tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }),
    undefined,
  );
});
