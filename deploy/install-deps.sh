#!/usr/bin/env bash
# Installs every Debian bookworm package the build, the demo and the tests need.
# Idempotent: when everything is already installed it does not touch apt at all,
# so repeated runs (demo.sh, tests/run.sh, CI) cost a dpkg query, not a download.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git
  libboost-dev libpq-dev prometheus-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  catch2 libyaml-cpp-dev libsqlite3-dev libssl-dev zlib1g-dev libdeflate-dev libhowardhinnant-date-dev tzdata libcrypt-dev
  # runtime tools for the demo and the tests
  sqlite3 curl ca-certificates procps postgresql-15 postgresql-client-15 prometheus wrk
  chromium docker-compose prometheus-alertmanager pgbouncer
  # the libFuzzer targets (tests/fuzz): clang 14 and its runtime
  clang-14 libclang-rt-14-dev
)
# Node.js and npm drive the browser tests (playwright-core); a machine that has them already
# (from NodeSource, say) keeps its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Debian's postgresql package would start a cluster on 5432 via its own init; the tests start
# their own throwaway cluster, so block service start-up during the install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
