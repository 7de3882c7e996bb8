#!/usr/bin/env bash
# Makes sure the command-line tools the tests and benchmarks use are present:
#   dcmdump (dcmtk) — reads fedpet's synthetic DICOM independently of dcmjs.
# Reuse it if installed; else (Debian, root) apt-get install it; else say what
# to run and exit 1. Silent when everything is there.
set -euo pipefail

if command -v dcmdump >/dev/null 2>&1; then
  exit 0
fi
if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: installing dcmtk (dcmdump) with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends dcmtk >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y --no-install-recommends dcmtk >/dev/null
  fi
  command -v dcmdump >/dev/null 2>&1 && exit 0
fi
echo "ensure-tools: dcmdump is missing; install dcmtk (Debian/Ubuntu: sudo apt-get install dcmtk) and rerun" >&2
exit 1
