#!/usr/bin/env bash
# The dashboard against Grafana's own published types (@grafana/schema, the version of the
# compose file's Grafana; installed by tests/run.sh into the git-ignored node_modules here).
# Passes when dashboards/invariantd.json type-checks, and when a copy with two fields Grafana
# would not read is refused naming both — so the check itself is known to bite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"
tsc=node_modules/typescript/bin/tsc
[ -x "$tsc" ] || { echo "grafana check: run npm ci in tests/grafana first (tests/run.sh does)" >&2; exit 1; }

# The types must be those of the Grafana the compose file runs.
image=$(sed -n 's|.*image: grafana/grafana-oss:\([0-9.]*\).*|\1|p' "$repo/deploy/docker/compose.yaml")
schema=$(node -p "require('@grafana/schema/package.json').version")
[ "$image" = "$schema" ] || { echo "grafana check: compose runs Grafana $image but @grafana/schema is $schema" >&2; exit 1; }

node typed-dashboard.mjs "$repo/dashboards/invariantd.json"
if ! "$tsc" -p tsconfig.json; then
  echo "grafana check: dashboards/invariantd.json has fields Grafana 11.3 does not read (above)" >&2
  exit 1
fi
echo "grafana check: dashboards/invariantd.json matches @grafana/schema $(node -p "require('@grafana/schema/package.json').version")"

node typed-dashboard.mjs "$repo/dashboards/invariantd.json" --break
if broken=$("$tsc" -p tsconfig.json 2>&1); then
  echo "grafana check: a dashboard with unknown fields type-checked — the check does not bite" >&2
  exit 1
fi
for field in lineWidthh displayModee; do
  grep -q "$field" <<<"$broken" || { echo "grafana check: '$field' was not reported:" >&2; echo "$broken" >&2; exit 1; }
done
echo "grafana check: planted unknown fields refused: $(grep -c 'error TS' <<<"$broken") errors"
