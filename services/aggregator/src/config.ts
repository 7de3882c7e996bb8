import { parseArgs } from 'node:util';
import { type CommonConfig, ConfigReader, readCommonConfig } from '@fedpet/shared/config/env-reader';

export const AGGREGATOR_HELP = `fedpet-aggregator — runs federated experiments

Pulls experiment jobs from the "experiments" queue, posts one round job per
hospital to "train.<hospital>", folds the hospitals' updates (weighted FedAvg)
as they arrive, stores each global model and publishes progress events.

Usage: fedpet-aggregator [options]

Options (each also settable by the environment variable shown):
  --bus <url>          event bus: amqp://… (RabbitMQ) or mqtt://… (MQTT 5)   FEDPET_BUS_URL
                       default amqp://guest:guest@127.0.0.1:5672
  --redis <url>        Redis for job queues and model blobs                  FEDPET_REDIS_URL
                       default redis://127.0.0.1:6379
  --namespace <name>   exchange, topic root and key prefix (default fedpet)  FEDPET_NAMESPACE
  --concurrency <n>    experiments run at once (default 1)                   FEDPET_AGGREGATOR_CONCURRENCY
  --id <name>          this aggregator's name in messages (default aggregator) FEDPET_AGGREGATOR_ID
  -h, --help           show this help

Logs are JSON lines on stderr (FEDPET_LOG_LEVEL=debug|info|warn|error).
Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT to export spans over OTLP/HTTP.
SIGTERM or SIGINT: stop taking experiments, cancel the running one, exit.`;

export interface AggregatorConfig extends CommonConfig {
  concurrency: number;
  id: string;
}

export function readAggregatorConfig(argv: string[], env: NodeJS.ProcessEnv): AggregatorConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      bus: { type: 'string' },
      redis: { type: 'string' },
      namespace: { type: 'string' },
      concurrency: { type: 'string' },
      id: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const reader = new ConfigReader(env);
  const common = readCommonConfig(reader, values);
  const config: AggregatorConfig = {
    ...common,
    concurrency: reader.integer('FEDPET_AGGREGATOR_CONCURRENCY', 1, 1, 64, values.concurrency),
    id: reader.string('FEDPET_AGGREGATOR_ID', 'aggregator', values.id),
  };
  reader.done();
  return Object.freeze(config);
}
