#!/bin/sh
# Runs one fedpet service through tsx (no build step). The service comes from
# FEDPET_SERVICE (set at build time by the SERVICE build arg, overridable at
# run time); any arguments are passed on, e.g. to the researcher CLI.
set -eu
service="${FEDPET_SERVICE:-}"
case "$service" in
  aggregator | trainer | researcher) ;;
  *)
    echo "fedpet: FEDPET_SERVICE must be aggregator, trainer or researcher (got '${service}')" >&2
    exit 64
    ;;
esac
# The trainer's entry also serves `fedpet-trainer dataset …` (the hospital's registry).
entry=main.ts
[ "$service" = trainer ] && entry=entry.ts
exec node --import tsx "services/${service}/src/${entry}" "$@"
