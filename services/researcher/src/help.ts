const connection = `Connection (each also settable by environment):
  --bus <url>         amqp://… (RabbitMQ) or mqtt://… (MQTT 5)   FEDPET_BUS_URL
                      default amqp://guest:guest@127.0.0.1:5672
  --redis <url>       Redis for queues and blobs                  FEDPET_REDIS_URL
                      default redis://127.0.0.1:6379
  --namespace <name>  deployment namespace (default fedpet)       FEDPET_NAMESPACE`;

export const HELP = `fedpet — the researcher's command line for federated PET-CT studies

Usage: fedpet <command> [options]

Commands:
  sandbox   run a whole federation on this machine (aggregator + one trainer
            process per hospital) and an experiment on it
  compare   federated vs centralized vs local-only on a simulated federation,
            with the oracle; writes comparison.json and report.html
  submit    post an experiment to a running federation, optionally watch it
  results   fetch results.json and the trained model of an experiment
  resume    start a new experiment from a stored round of an earlier one
  synth     write a synthetic PET-CT (DICOM + clinical) or tabular cohort and
            its federation file
  keys      generate the federation's identity keys (Ed25519 signing keys
            and the aggregator's X25519 sealing key)

Run "fedpet <command> --help" for a command's options.
Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT to export spans over OTLP/HTTP.`;

const commands: Record<string, string> = {
  compare: `fedpet compare --federation <federation.yaml> --experiment <experiment.yaml> --out <dir>
               [--ground-truth <ground-truth.json>] [--ready-timeout <s>]

Trains the experiment's plan three ways with the same budget and seeds:
(a) federated, through the brokers (exactly as fedpet sandbox, into <dir>/federated);
(b) centralized on the pooled training rows of every hospital; (c) at each
hospital alone. Every model is scored on every hospital's held-out split
(C-index pooled over within-hospital pairs, time-dependent AUC at 6 and 12
months; AUC for classifiers), next to the oracle ranking by the generator's
true hazards (ground-truth.json beside the federation file by default).
Writes <dir>/comparison.json and <dir>/report.html (self-contained: per-round
curves per hospital, Kaplan–Meier of predicted low- and high-risk groups with
the log-rank p, the comparison table).

(b) and (c) read every hospital's data in one process: this is a simulation
tool for synthetic or consented data, not something a real federation allows.

${connection}`,
  sandbox: `fedpet sandbox --federation <federation.yaml> --experiment <experiment.yaml> --out <dir>

Starts one aggregator and one trainer process per hospital of the
experiment (each with the datasets the federation file gives it), waits until
every trainer reports ready, submits the experiment, shows live progress (one
updating line per hospital on a terminal, plain lines otherwise), stops its
processes and writes <dir>/results.json and <dir>/model/ (tfjs format).
Service logs go to <dir>/logs/. Ctrl-C stops everything cleanly.
A fresh key set is written to <dir>/keys/ for each run: every service signs
its messages, and with 3 or more hospitals updates are combined by secure
aggregation (the aggregator sees only masked updates and their sum).

Without --namespace a fresh namespace is used and removed afterwards.

Options:
  --federation <file>     hospitals and their datasets (YAML)
  --experiment <file>     experiment spec (YAML or JSON)
  --out <dir>             where results, model and logs go
  --ready-timeout <s>     how long trainers may take to start (default 90)
  --no-secure-aggregation seal each update to the aggregator instead of masking
                          (overrides the experiment's secureAggregation.enabled)
${connection}

Exit status: 0 completed, 1 failed, 2 bad input, 130 interrupted.`,
  submit: `fedpet submit <experiment.yaml> [--watch] [--out <dir>]

Posts the experiment to the "experiments" queue of a running federation and
prints its id. --watch follows its progress until it ends; --out also writes
results.json and the model there (implies --watch).

${connection}`,
  resume: `fedpet resume <experiment-id> --from-round <n> [--rounds <m>] [--watch] [--out <dir>]

Posts a new experiment that starts from the global model the earlier
experiment (finished, failed or cancelled) had after round <n> (0: its initial
model), with the same spec; --rounds sets the new total (default: the same).
Rounds 1..n and their hospital outcomes are copied into the new results.json.
The aggregator keeps every round's model while the experiment's checkpoint
exists; prints the new experiment's id.

${connection}`,
  results: `fedpet results <experiment-id> --out <dir>

Writes results.json and model/ (tfjs format) of a finished experiment,
each verified by SHA-256, and prints the per-round metrics.

${connection}`,
  synth: `fedpet synth --out <dir> [--kind pet-ct|tabular] [--hospitals 3 | h1,h2,h3] [--seed 7]
  pet-ct (default):  [--patients 30-60 | 40,60,80] [--pet-matrix n] [--slice-mm n]
  tabular:           [--rows 400,250,150] [--features 8] [--shift 1]

pet-ct: a synthetic multicentric 18F-FDG PET-CT cohort. Per hospital, real
DICOM Part-10 PET and CT series (vendor conventions differ: Siemens-style
BQML, GE-style BQML with a re-processed series time, Philips-style CNTS) and
a clinical CSV (age, sex, ECOG, PD-L1, histology, line, PFS, best response);
total MTV, ECOG and PD-L1 drive PFS through a stated proportional-hazards
model. <dir>/ground-truth.json holds every patient's true hazard (trainers
never read it); <dir>/federation.yaml offers each hospital's data as the
pet-ct dataset "petct". --patients is a per-hospital list or a min-max range
drawn with the seed; --pet-matrix and --slice-mm make coarser, faster images.

tabular: one CSV per hospital (columns x1..xd and a binary label drawn from
one logistic ground truth, with per-hospital covariate and prevalence shift)
and <dir>/federation.yaml offering each CSV as dataset "tabular".`,
  keys: `fedpet keys generate --out <dir> --hospitals h1,h2,h3 | 3 [--aggregator aggregator] [--force]

Generates an Ed25519 signing key per hospital and for the aggregator, and the
aggregator's X25519 sealing key (hospitals seal updates to it when secure
aggregation is off). Every bus message is signed with its sender's key and
verified by its receivers. Writes:

  <dir>/<id>.key.json        SECRET, mode 0600, one per party: give each only
                             to the party it names
  <dir>/federation-keys.yaml PUBLIC: every party's public keys; give the same
                             file to every hospital and the aggregator

--hospitals 3 means h1,h2,h3. Existing private key files are never replaced
unless --force is given (a replaced key locks its owner out until the new
federation-keys.yaml reaches everybody).

Options:
  --out <dir>           where the key files go (created if needed)
  --hospitals <list>    hospital ids, comma-separated, or a count
  --aggregator <id>     the aggregator's id (default aggregator)
  --force               overwrite existing private key files`,
};

export function commandHelp(command: string): string | undefined {
  return commands[command];
}
