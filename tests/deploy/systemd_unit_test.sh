#!/usr/bin/env bash
# deploy/systemd/invariantd.service: `systemd-analyze verify` must print nothing (it exits 0
# on unknown keys and bad values, so its output is the verdict), and the hardening the
# operators rely on must be present. Usage: systemd_unit_test.sh <invariantd binary>
set -euo pipefail
unit="$(dirname "$0")/../../deploy/systemd/invariantd.service"
binary="$1"
for directive in 'DynamicUser=yes' 'StateDirectory=invariantd' 'ProtectSystem=strict' 'NoNewPrivileges=yes' \
                 'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure'; do
  grep -qxF "$directive" "$unit" || { echo "missing: $directive" >&2; exit 1; }
done
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not installed: directives checked, unit not verified" >&2
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s#/usr/local/bin/invariantd#${binary}#g" "$unit" > "$work/invariantd.service"
output="$(systemd-analyze verify "$work/invariantd.service" 2>&1)" || { echo "$output" >&2; exit 1; }
if [ -n "$output" ]; then echo "$output" >&2; exit 1; fi
echo "systemd-analyze verify: clean"
