import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { describeError } from '../errors/fedpet-error.ts';
import { extractTraceContext, injectTraceContext } from './propagation.ts';

const tracer = () => trace.getTracer('fedpet');

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context; defaults to the active one. */
  parent?: Context;
}

/**
 * Runs `fn` inside a new active span, recording a thrown error's code (not its
 * stack) and ending the span either way.
 */
export async function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    const { code, reason } = describeError(error);
    span.setAttribute('fedpet.error.code', code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    throw error;
  } finally {
    span.end();
  }
}

/** A PRODUCER span whose context is injected into the headers handed to `fn`. */
export function withProducerSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (headers: Record<string, string>, span: Span) => Promise<T>,
): Promise<T> {
  return withSpan(name, { kind: SpanKind.PRODUCER, attributes }, (span) => fn(injectTraceContext({}), span));
}

/** A CONSUMER span continuing the trace found in `headers` (or a new trace). */
export function withConsumerSpan<T>(
  name: string,
  headers: Record<string, string> | undefined,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return withSpan(name, { kind: SpanKind.CONSUMER, attributes, parent: extractTraceContext(headers) }, fn);
}
