#!/usr/bin/env bash
# Register gVisor's runsc with the Docker daemon, so that docker bottles run
# under it (runtime: auto picks it; see launcher/docker/runtime.go). Called
# by setup.sh once runsc is installed; idempotent.
#
# It chooses the runsc platform that works on this machine (kvm where
# /dev/kvm exists and works, systrap where this runsc has it, else ptrace)
# by running `true` in a sandbox on each, merges
#   "runtimes": {"runsc": {"path": ..., "runtimeArgs": [...]}}
# into /etc/docker/daemon.json (every other key kept, with jq), and, when
# that changed and a daemon runs, sends it SIGHUP: dockerd reloads its
# runtimes without stopping a container. A daemon started later reads the
# file. The runtime arguments are what bottles need:
#   --host-uds=open  the bottle's only way out is a host unix socket (its proxy's)
#   --network=none   a bottle has no network but loopback (and runsc's own
#                    network setup refuses recent kernels)
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
config="${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}"

runsc=$(command -v runsc) || { echo "runsc-docker: runsc is not installed (apt-get install runsc)" >&2; exit 1; }

candidates=()
[ -c /dev/kvm ] && candidates+=(kvm)
runsc help platforms 2>/dev/null | grep -qx systrap && candidates+=(systrap)
candidates+=(ptrace)
platform=""
for p in "${candidates[@]}"; do
  if (cd / && $SUDO timeout 120 "$runsc" --platform="$p" --network=none do true) >/dev/null 2>&1; then
    platform=$p
    break
  fi
done
if [ -z "$platform" ]; then
  echo "runsc-docker: runsc runs on none of the platforms ${candidates[*]} here; not registering it (docker bottles run under runc)" >&2
  exit 1
fi

args=$(jq -cn --arg p "$platform" '["--host-uds=open", "--network=none", "--platform=" + $p]')
current='{}'
if $SUDO test -s "$config"; then
  current=$($SUDO cat "$config")
fi
new=$(printf '%s' "$current" | jq --arg path "$runsc" --argjson args "$args" \
  '.runtimes.runsc = {path: $path, runtimeArgs: $args}') ||
  { echo "runsc-docker: $config is not valid JSON; fix it, then run this again" >&2; exit 1; }
if [ "$(printf '%s' "$current" | jq -S . 2>/dev/null)" = "$(printf '%s' "$new" | jq -S .)" ]; then
  echo "runsc-docker: runsc ($platform) is registered in $config"
  changed=0
else
  $SUDO mkdir -p "$(dirname "$config")"
  printf '%s\n' "$new" | $SUDO tee "$config.tmp" >/dev/null
  $SUDO mv "$config.tmp" "$config"
  echo "runsc-docker: registered runsc ($platform) in $config"
  changed=1
fi

if pid=$(pidof dockerd); then
  if [ "$changed" = 1 ]; then
    $SUDO kill -HUP $pid
  fi
  want=$(jq -cn --arg path "$runsc" --argjson args "$args" '{path: $path, runtimeArgs: $args}')
  for _ in $(seq 1 20); do
    got=$(docker info --format '{{json .Runtimes.runsc}}' 2>/dev/null || true)
    if [ -n "$got" ] && [ "$(printf '%s' "$got" | jq -cS .)" = "$(printf '%s' "$want" | jq -cS .)" ]; then
      exit 0
    fi
    sleep 0.5
  done
  echo "runsc-docker: dockerd did not take runsc from $config (docker info shows: ${got:-nothing}); see its log" >&2
  exit 1
fi
