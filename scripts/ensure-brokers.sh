#!/usr/bin/env bash
# Makes sure the three brokers fedpet's tests and demo need answer on loopback:
#   Redis      127.0.0.1:6379  (BullMQ queues, blob store)
#   RabbitMQ   127.0.0.1:5672  (AMQP bus; guest/guest, which RabbitMQ allows from loopback)
#   Mosquitto  127.0.0.1:1883  (MQTT 5 bus)
# For each: reuse it if the port answers; else start the locally installed
# server; else (Debian, root) apt-get install it and start it; else (a working
# Docker engine) start it from infra/compose.yaml; else say what to run and exit 1.
#
# Idempotent, and silent when all three already answer. Used by `make test`,
# `make demo` and CI (a fresh Debian machine, as root).
# FEDPET_SKIP_BROKERS=1 skips everything (brokers managed elsewhere).
set -euo pipefail

if [[ "${FEDPET_SKIP_BROKERS:-0}" == "1" ]]; then
  exit 0
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPOSE_FILE="$ROOT/infra/compose.yaml"
HOST=127.0.0.1
# rabbitmq-server, rabbitmqctl and (on Debian) redis-server may live in sbin,
# which a non-login or non-root PATH can lack.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

BROKERS=(redis rabbitmq mosquitto)
declare -A PORT=([redis]=6379 [rabbitmq]=5672 [mosquitto]=1883)
declare -A LABEL=([redis]=Redis [rabbitmq]=RabbitMQ [mosquitto]=Mosquitto)
declare -A BINARY=([redis]=redis-server [rabbitmq]=rabbitmq-server [mosquitto]=mosquitto)
declare -A PACKAGE=([redis]=redis-server [rabbitmq]=rabbitmq-server [mosquitto]=mosquitto)
# Seconds to wait for a port after starting its server (RabbitMQ boots slowly).
declare -A WAIT=([redis]=30 [rabbitmq]=120 [mosquitto]=30)
declare -A RESULT=()

LOG_DIR="${TMPDIR:-/tmp}/fedpet-brokers-$(id -u)"

say() { printf 'ensure-brokers: %s\n' "$*"; }
die() {
  say "$*" >&2
  exit 1
}

# True when something accepts TCP connections on 127.0.0.1:$1 within 1 s.
port_open() {
  timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

wait_port() {
  local name=$1 deadline=$((SECONDS + ${2:-${WAIT[$1]}}))
  until port_open "${PORT[$name]}"; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 1
  done
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

start_redis() {
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "${PORT[redis]}" \
    --save "" --appendonly no --logfile "$LOG_DIR/redis.log" >"$LOG_DIR/redis-start.log" 2>&1
}

# A fresh container's hostname often does not resolve, and RabbitMQ's default
# node name (rabbit@<short hostname>) then never starts. Fall back to
# rabbit@localhost unless the node name is configured.
rabbitmq_node_name() {
  if [[ -n "${RABBITMQ_NODENAME:-}" ]] || grep -qs '^[[:space:]]*NODENAME=' /etc/rabbitmq/rabbitmq-env.conf; then
    return 0
  fi
  if ! getent hosts "$(hostname -s 2>/dev/null || echo localhost)" >/dev/null 2>&1; then
    export RABBITMQ_NODENAME=rabbit@localhost
  fi
}

start_rabbitmq() {
  rabbitmq_node_name
  # The node may already be booting (a package's post-install start): a second
  # -detached start then fails harmlessly, and await_startup below decides.
  rabbitmq-server -detached >"$LOG_DIR/rabbitmq-start.log" 2>&1 || true
  # await_startup fails at once while the Erlang VM is not up yet, so retry.
  local deadline=$((SECONDS + WAIT[rabbitmq]))
  until rabbitmqctl -q --timeout 10 await_startup >>"$LOG_DIR/rabbitmq-start.log" 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 2
  done
}

# True when the Mosquitto config file (or a file it includes) declares a listener.
mosquitto_config_has_listener() {
  local conf=$1 dir
  [[ -r "$conf" ]] || return 1
  grep -Eq '^[[:space:]]*(listener|port)[[:space:]]' "$conf" && return 0
  while read -r dir; do
    [[ -d "$dir" ]] || continue
    if grep -Eqs '^[[:space:]]*(listener|port)[[:space:]]' "$dir"/*.conf; then
      return 0
    fi
  done < <(sed -n 's/^[[:space:]]*include_dir[[:space:]]\{1,\}//p' "$conf")
  return 1
}

start_mosquitto() {
  local conf=/etc/mosquitto/mosquitto.conf
  # The system config writes its pid file and log under /run and /var/log,
  # which only root can prepare (a systemd unit normally does).
  if is_root && mosquitto_config_has_listener "$conf"; then
    mkdir -p /run/mosquitto /var/log/mosquitto
    if id mosquitto >/dev/null 2>&1; then
      chown mosquitto: /run/mosquitto /var/log/mosquitto
    fi
  else
    conf="$LOG_DIR/mosquitto.conf"
    printf '%s\n' "listener ${PORT[mosquitto]} $HOST" 'allow_anonymous true' >"$conf"
    chmod 644 "$conf"
  fi
  mosquitto -d -c "$conf" >"$LOG_DIR/mosquitto-start.log" 2>&1
}

start_local() {
  local name=$1
  # 9>&-: a daemon must not inherit the lock's descriptor, or it holds the
  # lock for as long as it runs.
  if ! "start_$name" 9>&-; then
    return 1
  fi
  wait_port "$name"
}

# --- 1. What answers already? (The common case: all three, and not a word.)
find_missing() {
  missing=()
  for name in "${BROKERS[@]}"; do
    if port_open "${PORT[$name]}"; then
      RESULT[$name]=reused
    else
      missing+=("$name")
    fi
  done
}
find_missing
if ((${#missing[@]} == 0)); then
  exit 0
fi

mkdir -p "$LOG_DIR"
# Two concurrent runs (say `make test` and `make demo`) must not both start a
# server: take a lock, then look again.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$LOG_DIR/lock"
  flock -w 300 9 || die "another ensure-brokers run held $LOG_DIR/lock for 5 minutes"
  find_missing
  if ((${#missing[@]} == 0)); then
    exit 0
  fi
fi

# --- 2. Which of the missing ones are not installed?
not_installed=()
for name in "${missing[@]}"; do
  command -v "${BINARY[$name]}" >/dev/null 2>&1 || not_installed+=("$name")
done

if ((${#not_installed[@]} > 0)) && is_root && [[ -r /etc/debian_version ]] && command -v apt-get >/dev/null 2>&1; then
  packages=()
  for name in "${not_installed[@]}"; do packages+=("${PACKAGE[$name]}"); done
  say "installing ${packages[*]} with apt-get (log: $LOG_DIR/apt.log)"
  # (Post-install scripts may start the servers: 9>&- keeps the lock from them.)
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"; } >"$LOG_DIR/apt.log" 2>&1 9>&-; then
    tail -n 20 "$LOG_DIR/apt.log" >&2
    die "apt-get install ${packages[*]} failed (see $LOG_DIR/apt.log)"
  fi
  for name in "${not_installed[@]}"; do RESULT[$name]=installed; done
  not_installed=()
fi

# --- 3. Start what is installed locally.
for name in "${missing[@]}"; do
  command -v "${BINARY[$name]}" >/dev/null 2>&1 || continue
  # A package's post-install may have started it already.
  if port_open "${PORT[$name]}" || { [[ "${RESULT[$name]:-}" == installed ]] && wait_port "$name" 3; } ||
    start_local "$name"; then
    RESULT[$name]=${RESULT[$name]:-started}
  else
    tail -n 20 "$LOG_DIR/$name"-start.log >&2 2>/dev/null || true
    die "${LABEL[$name]} did not answer on $HOST:${PORT[$name]} after starting it (logs in $LOG_DIR)"
  fi
done

# --- 4. Neither running nor installable: Docker, or give up with one line.
if ((${#not_installed[@]} > 0)); then
  labels=()
  for name in "${not_installed[@]}"; do labels+=("${LABEL[$name]}"); done
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    say "starting ${not_installed[*]} with docker compose"
    docker compose -f "$COMPOSE_FILE" up -d "${not_installed[@]}" >"$LOG_DIR/compose.log" 2>&1 9>&- ||
      die "docker compose -f infra/compose.yaml up -d ${not_installed[*]} failed (see $LOG_DIR/compose.log)"
    for name in "${not_installed[@]}"; do
      wait_port "$name" 180 || die "${LABEL[$name]} (docker) did not answer on $HOST:${PORT[$name]} within 180 s"
      RESULT[$name]="started (docker)"
    done
  else
    pkgs=()
    for name in "${not_installed[@]}"; do pkgs+=("${PACKAGE[$name]}"); done
    die "$(IFS=/; echo "${labels[*]}") not reachable on $HOST and not installed: run 'sudo apt-get install -y ${pkgs[*]}' or 'docker compose -f infra/compose.yaml up -d ${not_installed[*]}', or set FEDPET_SKIP_BROKERS=1 if they run elsewhere"
  fi
fi

for name in "${BROKERS[@]}"; do
  say "${LABEL[$name]} ${RESULT[$name]} on $HOST:${PORT[$name]}"
done
