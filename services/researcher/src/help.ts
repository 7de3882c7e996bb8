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
  submit    post an experiment to a running federation, optionally watch it
  results   fetch results.json and the trained model of an experiment
  synth     write a synthetic PET-CT (DICOM + clinical) or tabular cohort and
            its federation file

Run "fedpet <command> --help" for a command's options.
Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT to export spans over OTLP/HTTP.`;

const commands: Record<string, string> = {
  sandbox: `fedpet sandbox --federation <federation.yaml> --experiment <experiment.yaml> --out <dir>

Starts one aggregator and one trainer process per hospital of the
experiment (each with the datasets the federation file gives it), waits until
every trainer reports ready, submits the experiment, shows live progress (one
updating line per hospital on a terminal, plain lines otherwise), stops its
processes and writes <dir>/results.json and <dir>/model/ (tfjs format).
Service logs go to <dir>/logs/. Ctrl-C stops everything cleanly.

Without --namespace a fresh namespace is used and removed afterwards.

Options:
  --federation <file>     hospitals and their datasets (YAML)
  --experiment <file>     experiment spec (YAML or JSON)
  --out <dir>             where results, model and logs go
  --ready-timeout <s>     how long trainers may take to start (default 90)
${connection}

Exit status: 0 completed, 1 failed, 2 bad input, 130 interrupted.`,
  submit: `fedpet submit <experiment.yaml> [--watch] [--out <dir>]

Posts the experiment to the "experiments" queue of a running federation and
prints its id. --watch follows its progress until it ends; --out also writes
results.json and the model there (implies --watch).

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
};

export function commandHelp(command: string): string | undefined {
  return commands[command];
}
