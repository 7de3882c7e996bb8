import { isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * Structured JSON logs, one object per line on stderr, carrying the active
 * trace and span ids so a log line can be found from a trace and back.
 * Never pass data rows, pixel values or patient identifiers as fields.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  write?: (line: string) => void;
}

export function parseLogLevel(value: string | undefined): LogLevel {
  return value === 'debug' || value === 'warn' || value === 'error' ? value : 'info';
}

export function createLogger(options: LoggerOptions, bound: LogFields = {}): Logger {
  const threshold = levelRank[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (levelRank[level] < threshold) return;
    const spanContext = trace.getActiveSpan()?.spanContext();
    const record: LogFields = {
      time: new Date().toISOString(),
      level,
      service: options.service,
      msg: message,
      ...bound,
      ...fields,
    };
    if (spanContext && isSpanContextValid(spanContext)) {
      record.traceId = spanContext.traceId;
      record.spanId = spanContext.spanId;
    }
    write(JSON.stringify(record, errorReplacer));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** Errors become their message and code: no stack traces leave a service. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return code === undefined ? value.message : { code, message: value.message };
  }
  return value;
}
