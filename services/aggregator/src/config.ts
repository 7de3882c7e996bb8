import { parseArgs } from 'node:util';
import { type CommonConfig, ConfigReader, readCommonConfig } from '@fedpet/shared/config/env-reader';

export const AGGREGATOR_HELP = `fedpet-aggregator — runs federated experiments

Pulls experiment jobs from the "experiments" queue, posts one round job per
hospital to "train.<hospital>", aggregates the hospitals' updates (weighted
FedAvg; with 3 or more hospitals by secure aggregation, so it only ever sees
masked updates and their sum), stores each global model and publishes
progress events. Messages without a valid hospital signature, and replays,
go to the dead-letter queue.

Usage: fedpet-aggregator [options]

Options (each also settable by the environment variable shown):
  --bus <url>          event bus: amqp://… (RabbitMQ) or mqtt://… (MQTT 5)   FEDPET_BUS_URL
                       default amqp://guest:guest@127.0.0.1:5672
  --redis <url>        Redis for job queues and model blobs                  FEDPET_REDIS_URL
                       default redis://127.0.0.1:6379
  --namespace <name>   exchange, topic root and key prefix (default fedpet)  FEDPET_NAMESPACE
  --concurrency <n>    experiments run at once (default 1)                   FEDPET_AGGREGATOR_CONCURRENCY
  --id <name>          this aggregator's name in messages (default aggregator) FEDPET_AGGREGATOR_ID
  --identity <file>    the aggregator's private key file (signing and       FEDPET_IDENTITY
                       sealing keys; fedpet keys generate writes it)
  --federation-keys <f> the federation's public keys: every hospital        FEDPET_FEDERATION_KEYS
                       message is verified against them
  -h, --help           show this help

Logs are JSON lines on stderr (FEDPET_LOG_LEVEL=debug|info|warn|error).
Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT to export spans over OTLP/HTTP.

Experiments are checkpointed in Redis after every step (round opened, update
stored, round closed, model stored): an aggregator restarted after a crash
resumes the experiment it was running at the same round, within about 15 s,
without counting any update twice (docs/reliability.md).
FEDPET_BROKER_GIVE_UP_SECONDS (default 60): a broker (RabbitMQ/MQTT, Redis)
unreachable this long is logged as an error; reconnection goes on.
SIGTERM or SIGINT: stop taking experiments, hand the running one back to the
queue at its checkpoint (the next aggregator resumes it), exit.`;

export interface AggregatorConfig extends CommonConfig {
  concurrency: number;
  id: string;
  identityPath: string;
  federationKeysPath: string;
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
      identity: { type: 'string' },
      'federation-keys': { type: 'string' },
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
    identityPath: reader.pattern(
      'identity key file (--identity or FEDPET_IDENTITY)',
      values.identity ?? env.FEDPET_IDENTITY,
      /./,
      'a path, e.g. keys/aggregator.key.json from fedpet keys generate',
    ),
    federationKeysPath: reader.pattern(
      'federation keys (--federation-keys or FEDPET_FEDERATION_KEYS)',
      values['federation-keys'] ?? env.FEDPET_FEDERATION_KEYS,
      /./,
      'a path, e.g. keys/federation-keys.yaml from fedpet keys generate',
    ),
  };
  reader.done();
  return Object.freeze(config);
}
