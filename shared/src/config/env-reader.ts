import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

/**
 * Reads configuration values and collects every problem, so a service
 * reports all of them at once instead of one per restart.
 */
export class ConfigReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  string(name: string, fallback: string, flag?: string): string {
    return flag ?? this.env[name] ?? fallback;
  }

  optionalString(name: string, flag?: string): string | undefined {
    const value = flag ?? this.env[name];
    return value === '' ? undefined : value;
  }

  url(name: string, fallback: string, schemes: readonly string[], flag?: string): string {
    const value = this.string(name, fallback, flag);
    try {
      const parsed = new URL(value);
      if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) {
        this.problem(`${name}: scheme "${parsed.protocol}" is not one of ${schemes.join(', ')}`);
      }
    } catch {
      this.problem(`${name}: "${value}" is not a URL`);
    }
    return value;
  }

  integer(name: string, fallback: number, min: number, max: number, flag?: string): number {
    const raw = flag ?? this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problem(`${name}: "${raw}" must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  pattern(name: string, value: string | undefined, regex: RegExp, description: string): string {
    if (value === undefined || value === '') {
      this.problem(`${name} is required (${description})`);
      return '';
    }
    if (!regex.test(value)) this.problem(`${name}: "${value}" must be ${description}`);
    return value;
  }

  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throws one error listing every problem found. */
  done(): void {
    if (this.problems.length > 0) {
      throw new FedpetError(ErrorCodes.invalidConfig, this.problems.join('; '));
    }
  }
}

/** Settings every service shares. */
export interface CommonConfig {
  busUrl: string;
  redisUrl: string;
  namespace: string;
  logLevel: string;
  /** A broker unreachable this long is reported as an error (reconnection goes on). */
  brokerGiveUpMs: number;
}

export function readCommonConfig(
  reader: ConfigReader,
  flags: { bus?: string; redis?: string; namespace?: string },
): CommonConfig {
  return {
    busUrl: reader.url(
      'FEDPET_BUS_URL',
      'amqp://guest:guest@127.0.0.1:5672',
      ['amqp', 'amqps', 'mqtt', 'mqtts', 'ws', 'wss'],
      flags.bus,
    ),
    redisUrl: reader.url('FEDPET_REDIS_URL', 'redis://127.0.0.1:6379', ['redis', 'rediss'], flags.redis),
    namespace: reader.pattern(
      'FEDPET_NAMESPACE',
      flags.namespace ?? reader.string('FEDPET_NAMESPACE', 'fedpet'),
      /^[a-z][a-z0-9-]{0,39}$/,
      'lowercase letters, digits and dashes',
    ),
    logLevel: reader.string('FEDPET_LOG_LEVEL', 'info'),
    brokerGiveUpMs: reader.integer('FEDPET_BROKER_GIVE_UP_SECONDS', 60, 1, 86400) * 1000,
  };
}
