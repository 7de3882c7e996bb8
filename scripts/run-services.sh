#!/usr/bin/env bash
# make services: an aggregator plus one trainer per hospital of a federation
# directory written by `fedpet synth`, in the configured namespace (default
# fedpet), until Ctrl-C. Submit work with:
#   node services/researcher/bin/fedpet.js submit examples/demo/experiment.yaml --out .fedpet/run
set -euo pipefail
data_dir=${1:?usage: run-services.sh <federation data dir>}
cd "$(dirname "$0")/.."
pids=()
stop() {
  trap - INT TERM
  echo "stopping services…"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM
node services/aggregator/bin/fedpet-aggregator.js &
pids+=($!)
for csv in "$data_dir"/*.csv; do
  hospital=$(basename "$csv" .csv)
  node services/trainer/bin/fedpet-trainer.js --hospital "$hospital" --dataset "tabular=$csv" &
  pids+=($!)
done
echo "aggregator and ${#pids[@]} processes running (namespace ${FEDPET_NAMESPACE:-fedpet}); Ctrl-C stops them"
wait "${pids[@]}"
