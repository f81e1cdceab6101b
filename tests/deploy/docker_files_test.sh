#!/usr/bin/env bash
# deploy/docker/: no Docker engine runs here, so every file is checked with the real tool that
# reads it: docker-compose parses and validates compose.yaml (schema, secrets, volumes),
# promtool the compose Prometheus config laid out as its mounts lay it out, amtool the
# Alertmanager config; the Dockerfile's runtime stage must install the package of every
# library the binary links (objdump + dpkg on this bookworm machine), and its build stage only
# packages deploy/install-deps.sh installs. Usage: docker_files_test.sh <invariantd binary>
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
docker_dir="$repo/deploy/docker"
binary="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# compose.yaml: schema-valid, and every bind-mounted host path exists in the repository.
(cd "$docker_dir" && docker-compose -f compose.yaml config -q) || fail "docker-compose rejects compose.yaml"
(cd "$docker_dir" && docker-compose -f compose.yaml config) > "$work/compose.resolved.yaml"
grep -Eo '^ *- (/[^:]+):/' "$work/compose.resolved.yaml" | sed -E 's/^ *- //; s/:\/$//' | sort -u > "$work/binds"
[ -s "$work/binds" ] || fail "no bind mounts found in the resolved compose file"
while read -r path; do [ -e "$path" ] || fail "compose mounts $path, which does not exist"; done < "$work/binds"
for secret in "$docker_dir"/secrets/*; do [ -s "$secret" ] || fail "empty secret $secret"; done
echo "docker-compose config: valid, $(wc -l < "$work/binds") bind mounts present"

# Prometheus and Alertmanager configs as the containers see them.
mkdir -p "$work/prometheus/rules"
cp "$docker_dir/prometheus.yml" "$work/prometheus/prometheus.yml"
cp "$repo/deploy/prometheus/invariantd-rules.yml" "$work/prometheus/rules/"
promtool check config "$work/prometheus/prometheus.yml"
amtool check-config "$docker_dir/alertmanager.yml"

# Dockerfile: both stages on bookworm-slim, a non-root user, a HEALTHCHECK on /livez.
dockerfile="$docker_dir/Dockerfile"
[ "$(grep -c '^FROM debian:bookworm-slim' "$dockerfile")" -eq 2 ] || fail "both stages must be FROM debian:bookworm-slim"
grep -Eq '^USER [1-9][0-9]*:[1-9][0-9]*$' "$dockerfile" || fail "the image must run as a numeric non-root user"
grep -q 'HEALTHCHECK' "$dockerfile" && grep -q '/livez' "$dockerfile" || fail "HEALTHCHECK on /livez missing"

# The packages each stage installs (the apt-get install lines between the FROMs).
stage_packages() {  # $1: stage number (1 build, 2 runtime)
  awk -v stage="$1" '/^FROM /{n++} n==stage' "$dockerfile" |
    sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
    grep -vE '^(apt-get|install|rm|rf|useradd)$' | sort -u
}
stage_packages 1 > "$work/build-packages"
stage_packages 2 > "$work/runtime-packages"
sed -n '/^packages=(/,/^)/p' "$repo/deploy/install-deps.sh" | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u \
  > "$work/install-deps-packages"
missing_build=$(comm -23 "$work/build-packages" "$work/install-deps-packages")
[ -z "$missing_build" ] || fail "build stage installs packages install-deps.sh does not: $missing_build"

# Every library the binary links directly must come from a runtime-stage package (libc,
# libstdc++ and libgcc are in the base image; sanitizer runtimes only exist in test builds).
base_image='^(libc6|libstdc\+\+6|libgcc-s1)$'
objdump -p "$binary" | awk '/NEEDED/{print $2}' | while read -r soname; do
  case "$soname" in libasan*|libubsan*) continue ;; esac
  # (no early exit in these pipelines: a SIGPIPE'd ldconfig would fail the script under pipefail)
  path=$(ldconfig -p | awk -v lib="$soname" '$1 == lib && !found {print $NF; found = 1}')
  [ -n "$path" ] || fail "cannot locate $soname"
  package=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | awk -F: 'NR == 1 {print $1}') || true
  [ -n "$package" ] || package=$(dpkg -S "$path" 2>/dev/null | awk -F: 'NR == 1 {print $1}') || true
  [ -n "$package" ] || fail "no package owns $path"
  if echo "$package" | grep -Eq "$base_image"; then continue; fi
  grep -qxF "$package" "$work/runtime-packages" || fail "$soname comes from $package, which the runtime stage does not install"
  echo "$soname <- $package"
done
echo "Dockerfile: stages, user, healthcheck and runtime libraries consistent"
