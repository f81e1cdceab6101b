#!/usr/bin/env bash
# Renders the status page of the demo in headless Chromium to a PNG (the README's picture):
#   ./deploy/status-page-screenshot.sh [out.png]   (default dashboards/screenshots/status-page.png)
# Needs a built build/release/invariantd (./deploy/demo.sh builds it) and chromium.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$repo/dashboards/screenshots/status-page.png}")
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/config" "$(dirname "$out")"
"$repo/deploy/make-demo-databases.sh" "$work/demo" >/dev/null
sed 's/127.0.0.1:9898/127.0.0.1:0/' "$repo/config/demo.yaml" > "$work/config/demo.yaml"
"$repo/build/release/invariantd" run -c "$work/config/demo.yaml" > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  port=$(grep -o 'listening on [^ ]*' "$work/log" | sed 's/.*://' || true)
  # wait until every check has run once (no "never" left on the page)
  if [ -n "$port" ] && ! curl -fsS "http://127.0.0.1:$port/" | grep -q '>never<'; then break; fi
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/log" >&2; exit 1; }
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$work/profile" \
  --window-size=1500,760 --screenshot="$out" "http://127.0.0.1:$port/" 2>/dev/null
echo "status page: $out"
