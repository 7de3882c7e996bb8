import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CommonConfig, ConfigReader, readCommonConfig } from '@fedpet/shared/config/env-reader';
import { type BackendPreference, backendPreferences } from '@fedpet/shared/ml/backend';
import { dataDirectory } from './registry/dataset-command.ts';

export const TRAINER_HELP = `fedpet-trainer — a hospital's training worker

Pulls round jobs from its hospital's queue "train.<hospital>" (a GPU worker
also pulls "train.<hospital>.gpu", the jobs of plans that need a GPU), trains the
experiment's plan on local data with TensorFlow.js, and publishes the model
update (chunked, SHA-256 verified): masked by secure aggregation (with 3 or
more hospitals), else sealed to the aggregator's key. Every message it sends
is signed with the hospital's Ed25519 key. Raw data never leaves this
process: only protected model parameters, sample counts and aggregate
metrics do.

Usage: fedpet-trainer --hospital <id> [--data-dir <dir>] [--dataset <name>=<file.csv>] [options]
       fedpet-trainer dataset add|list|remove|inspect ...   (see fedpet-trainer dataset --help)

Options (each also settable by the environment variable shown):
  --hospital <id>         this hospital's id (lowercase, digits, dashes)       FEDPET_HOSPITAL
  --data-dir <dir>        the hospital's dataset registry and preprocessing     FEDPET_DATA_DIR
                          cache (default ~/.fedpet/trainer); every registered
                          dataset (fedpet-trainer dataset add) is offered
  --dataset <name>=<csv>  a CSV dataset offered besides the registry;         FEDPET_DATASETS
                          repeatable (environment: comma-separated name=path)
  --identity <file>       this hospital's private key file                    FEDPET_IDENTITY
                          (fedpet keys generate writes <hospital>.key.json)
  --federation-keys <f>   the federation's public keys                        FEDPET_FEDERATION_KEYS
                          (federation-keys.yaml): verifies the aggregator
  --require-secure-aggregation  refuse training jobs whose update would not   FEDPET_REQUIRE_SECURE_AGGREGATION=1
                          be masked (secure aggregation)
  --backend <name>        tensorflow | wasm | cpu (default: best that loads)  FEDPET_BACKEND
  --workers <n>           round jobs trained at once (default 1)              FEDPET_WORKERS
  --train-threads <n>     threads one job of an imaging plan trains on,       FEDPET_TRAIN_THREADS
                          data-parallel (default 1; auto: every core); wasm
                          and cpu backends
  --train-threads-min-mflop <n>  batches with less forward work train on one  FEDPET_TRAIN_THREADS_MIN_MFLOP
                          thread (default 300; 0: always split)
  --heartbeat <seconds>   node status interval (default 5)                    FEDPET_HEARTBEAT_SECONDS
  --bus <url>             amqp://… (RabbitMQ) or mqtt://… (MQTT 5)             FEDPET_BUS_URL
                          default amqp://guest:guest@127.0.0.1:5672
  --redis <url>           Redis for job queues and model blobs                FEDPET_REDIS_URL
                          default redis://127.0.0.1:6379
  --namespace <name>      exchange, topic root and key prefix (default fedpet) FEDPET_NAMESPACE
  -h, --help              show this help

Backends are tried in the order tfjs-node-gpu, tfjs-node, wasm, cpu; the
chosen one is logged and reported in node status. Logs are JSON lines on
stderr; set OTEL_EXPORTER_OTLP_ENDPOINT to export traces.
FEDPET_BROKER_GIVE_UP_SECONDS (default 60): a broker (RabbitMQ/MQTT, Redis)
unreachable this long is logged as an error; reconnection goes on.
SIGTERM or SIGINT: take no new job, finish the one in hand, exit. A worker
killed mid-job leaves it to stall: BullMQ hands it to another worker of the
hospital (or this one, restarted) within about 20 s.`;

export interface DatasetConfig {
  name: string;
  path: string;
}

export interface TrainerConfig extends CommonConfig {
  hospital: string;
  identityPath: string;
  federationKeysPath: string;
  requireSecureAggregation: boolean;
  dataDirectory: string;
  datasets: DatasetConfig[];
  backend: BackendPreference | undefined;
  workers: number;
  /** Data-parallel threads per job: a count, or 'auto' (every core). */
  trainThreads: number | 'auto';
  /** Forward MFLOP a batch needs before it is split across the training threads. */
  trainThreadsMinMflop: number;
  heartbeatSeconds: number;
}

/** --train-threads / FEDPET_TRAIN_THREADS: 1–256, or 'auto' (every core); default 1. */
function readTrainThreads(reader: ConfigReader, raw: string | undefined): number | 'auto' {
  if (raw === undefined || raw === '') return 1;
  if (raw === 'auto') return 'auto';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 256) {
    reader.problem(`FEDPET_TRAIN_THREADS: "${raw}" must be an integer from 1 to 256, or auto`);
    return 1;
  }
  return value;
}

export function readTrainerConfig(argv: string[], env: NodeJS.ProcessEnv): TrainerConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      hospital: { type: 'string' },
      dataset: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      identity: { type: 'string' },
      'federation-keys': { type: 'string' },
      'require-secure-aggregation': { type: 'boolean' },
      backend: { type: 'string' },
      workers: { type: 'string' },
      'train-threads': { type: 'string' },
      'train-threads-min-mflop': { type: 'string' },
      heartbeat: { type: 'string' },
      bus: { type: 'string' },
      redis: { type: 'string' },
      namespace: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const reader = new ConfigReader(env);
  const common = readCommonConfig(reader, values);
  const hospital = reader.pattern(
    'hospital (--hospital or FEDPET_HOSPITAL)',
    values.hospital ?? env.FEDPET_HOSPITAL,
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'lowercase letters, digits and dashes',
  );
  const datasetSpecs = values.dataset ?? (env.FEDPET_DATASETS ? env.FEDPET_DATASETS.split(',') : []);
  const datasets: DatasetConfig[] = [];
  for (const spec of datasetSpecs) {
    const match = /^([A-Za-z0-9._-]+)=(.+)$/.exec(spec.trim());
    if (!match) {
      reader.problem(`dataset "${spec}" must be <name>=<path>`);
      continue;
    }
    datasets.push({ name: match[1]!, path: match[2]! });
  }
  const dataDir = dataDirectory(values['data-dir'], env);
  if (datasets.length === 0 && !existsSync(join(dataDir, 'datasets.json'))) {
    reader.problem(
      `no dataset: register one (fedpet-trainer dataset add --data-dir ${dataDir} …) or pass --dataset <name>=<file.csv>`,
    );
  }
  const backendName = reader.optionalString('FEDPET_BACKEND', values.backend);
  if (backendName !== undefined && !(backendPreferences as readonly string[]).includes(backendName)) {
    reader.problem(`backend "${backendName}" must be one of ${backendPreferences.join(', ')}`);
  }
  const config: TrainerConfig = {
    ...common,
    hospital,
    identityPath: reader.pattern(
      'identity key file (--identity or FEDPET_IDENTITY)',
      values.identity ?? env.FEDPET_IDENTITY,
      /./,
      'a path, e.g. keys/h1.key.json from fedpet keys generate',
    ),
    federationKeysPath: reader.pattern(
      'federation keys (--federation-keys or FEDPET_FEDERATION_KEYS)',
      values['federation-keys'] ?? env.FEDPET_FEDERATION_KEYS,
      /./,
      'a path, e.g. keys/federation-keys.yaml from fedpet keys generate',
    ),
    requireSecureAggregation:
      values['require-secure-aggregation'] === true || env.FEDPET_REQUIRE_SECURE_AGGREGATION === '1',
    dataDirectory: dataDir,
    datasets,
    backend: backendName as BackendPreference | undefined,
    workers: reader.integer('FEDPET_WORKERS', 1, 1, 64, values.workers),
    trainThreads: readTrainThreads(reader, values['train-threads'] ?? env.FEDPET_TRAIN_THREADS),
    trainThreadsMinMflop: reader.integer(
      'FEDPET_TRAIN_THREADS_MIN_MFLOP',
      300,
      0,
      1_000_000,
      values['train-threads-min-mflop'],
    ),
    heartbeatSeconds: reader.integer('FEDPET_HEARTBEAT_SECONDS', 5, 1, 3600, values.heartbeat),
  };
  reader.done();
  return Object.freeze(config);
}
