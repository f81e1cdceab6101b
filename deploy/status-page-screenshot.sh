#!/usr/bin/env bash
# Renders the status pages of the demo in headless Chromium to PNGs (the README's pictures):
#   ./deploy/status-page-screenshot.sh [out.png]   (default dashboards/screenshots/status-page.png;
#   the shift_coverage page goes beside it as check-page.png)
# Needs a built build/release/invariantd (./deploy/demo.sh builds it; INVARIANTD_BINARY picks
# another) and chromium.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$repo/dashboards/screenshots/status-page.png}")
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/config" "$(dirname "$out")"
"$repo/deploy/make-demo-databases.sh" "$work/demo" >/dev/null
sed 's/127.0.0.1:9898/127.0.0.1:0/' "$repo/config/demo.yaml" > "$work/config/demo.yaml"
"${INVARIANTD_BINARY:-$repo/build/release/invariantd}" run -c "$work/config/demo.yaml" > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  port=$(grep -o 'listening on [^ ]*' "$work/log" | sed 's/.*://' || true)
  # wait until every check has run once (no "never" left on the page)
  if [ -n "$port" ] && ! curl -fsS "http://127.0.0.1:$port/" | grep -q '>never<'; then break; fi
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/log" >&2; exit 1; }
shoot() {  # $1 png, $2 path, $3 width, $4 height
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$work/profile" \
    --window-size="$3,$4" --screenshot="$1" "http://127.0.0.1:$port$2" 2>/dev/null
}
# A few runs first, so the sparklines and the history chart have points.
for _ in 1 2 3 4 5; do
  for check in $(curl -fsS "http://127.0.0.1:$port/api/v1/checks" | grep -o '"name":"[a-z0-9_]*"' | cut -d'"' -f4); do
    curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/api/v1/checks/$check/run?wait=1"
  done
done
shoot "$out" / 1024 900
shoot "$(dirname "$out")/check-page.png" /checks/shift_coverage 1024 1400
echo "status pages: $out $(dirname "$out")/check-page.png"
