#!/usr/bin/env bash
# make services: an aggregator plus one trainer per hospital of a synthetic
# PET-CT federation directory written by `fedpet synth`, in the configured
# namespace (default fedpet), until Ctrl-C. Each hospital's dataset is first
# registered in its own registry (<dir>/.trainer-data/<hospital>), as its
# operator would do. Submit work with:
#   node services/researcher/bin/fedpet.js submit examples/demo/experiment.yaml --watch --out .fedpet/run
set -euo pipefail
data_dir=$(cd "${1:?usage: run-services.sh <federation data dir>}" && pwd)
cd "$(dirname "$0")/.."
trainer=services/trainer/bin/fedpet-trainer.js
hospitals=()
for dicom in "$data_dir"/*/dicom; do
  hospital=$(basename "$(dirname "$dicom")")
  node "$trainer" dataset add --replace --data-dir "$data_dir/.trainer-data/$hospital" \
    --name petct --kind pet-ct --dicom "$dicom" --clinical "$data_dir/$hospital/clinical.csv" \
    --tags pet-ct,fdg,nsclc,synthetic
  hospitals+=("$hospital")
done
# One key set for this federation, made once: every service signs its messages.
keys="$data_dir/keys"
if [[ ! -f "$keys/federation-keys.yaml" ]]; then
  node services/researcher/bin/fedpet.js keys generate --out "$keys" --hospitals "$(IFS=,; echo "${hospitals[*]}")"
fi
pids=()
stop() {
  trap - INT TERM
  echo "stopping services…"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM
node services/aggregator/bin/fedpet-aggregator.js \
  --identity "$keys/aggregator.key.json" --federation-keys "$keys/federation-keys.yaml" &
pids+=($!)
for hospital in "${hospitals[@]}"; do
  node "$trainer" --hospital "$hospital" --data-dir "$data_dir/.trainer-data/$hospital" \
    --identity "$keys/$hospital.key.json" --federation-keys "$keys/federation-keys.yaml" &
  pids+=($!)
done
echo "aggregator and ${#hospitals[@]} trainers running (namespace ${FEDPET_NAMESPACE:-fedpet}); Ctrl-C stops them"
wait "${pids[@]}"
