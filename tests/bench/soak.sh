#!/usr/bin/env bash
# Soak (a benchmark, not a test): the demo configuration plus PostgreSQL checks at 1 s
# intervals, for MINUTES (default 30), under steady load — /metrics scraped every second,
# /health probed five times a second, the API read every second — with a reload every 30 s,
# PostgreSQL restarted every 5 minutes and a webhook receiver that fails one request in ten.
# Every 10 s it samples RSS, open fds, threads, the outbox (queued notifications) and the
# latency of /health and /metrics; it writes soak.tsv and soak.png (gnuplot) into
# tests/bench/results/ and fails when RSS or open fds grew by more than 10 % between minute 5
# and the end (the largest sample of minute 5–6 against the largest of the last minute).
#   ./tests/bench/soak.sh 30
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
minutes=${1:-30}
source tests/bench/common.sh
for tool in gnuplot python3 curl; do
  command -v "$tool" >/dev/null || { apt-get install -y -qq --no-install-recommends gnuplot-nox python3 curl >/dev/null; break; }
done
results=$repo/tests/bench/results
mkdir -p "$results"

# The demo worlds, and a PostgreSQL table whose check fires and resolves every minute.
./deploy/make-demo-databases.sh "$work/demo" >/dev/null
psql "$INVARIANTD_TEST_PG_DSN" -qc "DROP TABLE IF EXISTS soak_orders;
  CREATE TABLE soak_orders(id int PRIMARY KEY, total numeric, server_id int);
  INSERT INTO soak_orders SELECT g, g % 97, CASE WHEN g % 50 = 0 THEN NULL ELSE g END FROM generate_series(1, 20000) g;"

# A receiver that fails every tenth request with a 503 (retried by the daemon).
cat > "$work/receiver.py" <<'PY'
import http.server, sys
count = 0
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count += 1
        self.send_response(503 if count % 10 == 0 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
python3 "$work/receiver.py" > "$work/receiver.port" &
receiver_pid=$!
for _ in $(seq 1 100); do [ -s "$work/receiver.port" ] && break; sleep 0.1; done
receiver_port=$(cat "$work/receiver.port")

sed -e "s|\.\./demo/|$work/demo/|g" -e "s|state_dir: .*|state_dir: $work/state|" \
    -e 's|listen: "127.0.0.1:9898"|listen: "127.0.0.1:0"|' -e 's|interval: 30s|interval: 1s|' \
    -e 's|level: info|level: info|' config/demo.yaml > "$work/soak.yaml"
python3 - "$work/soak.yaml" "$receiver_port" <<'PY'
import sys
path, port = sys.argv[1], sys.argv[2]
text = open(path).read()
text = text.replace("databases:\n", "databases:\n  shop: { driver: postgres, dsn: \"${INVARIANTD_TEST_PG_DSN}\", max_connections: 2 }\n", 1)
text = text.replace("\nchecks:\n", f"""
receivers:
  flaky_hook: {{ type: webhook, url: "http://127.0.0.1:{port}/hook" }}

checks:
  - name: soak_flip
    module: sql
    database: shop
    interval: 1s
    params: {{ mode: scalar, query: "SELECT extract(minute FROM now())::int % 2" }}
    alert: {{ when: "> 0", receivers: [flaky_hook], summary: "odd minute" }}
  - name: soak_missing_server
    module: sql
    database: shop
    interval: 1s
    params: {{ mode: scalar, query: "SELECT count(*) FROM soak_orders WHERE server_id IS NULL" }}
    alert: {{ when: "> 0", receivers: [flaky_hook] }}
  - name: soak_negative
    module: sql
    database: shop
    interval: 1s
    params: {{ mode: rows, query: "SELECT id, total FROM soak_orders WHERE total > 95 ORDER BY id LIMIT 50", key_columns: [id] }}
    alert: {{ when: "> 0", receivers: [flaky_hook], notify_on_new: true }}
""", 1)
open(path, "w").write(text)
PY
"$binary" validate -c "$work/soak.yaml" >/dev/null
start_daemon "$work/soak.yaml"
base="http://127.0.0.1:$port"

# Steady load, each in its own loop; latencies of /health and /metrics go to files.
load_pids=()
( while :; do curl -s -o /dev/null -w '%{time_total}\n' "$base/health" >> "$work/health.lat"; sleep 0.2; done ) &
load_pids+=($!)
( while :; do curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{time_total}\n' "$base/metrics" >> "$work/metrics.lat"; sleep 1; done ) &
load_pids+=($!)
( while :; do curl -s -o /dev/null "$base/api/v1/checks"; curl -s -o /dev/null "$base/api/v1/alerts"; curl -s -o /dev/null "$base/"; sleep 1; done ) &
load_pids+=($!)
( while :; do sleep 30; curl -s -o /dev/null -w '%{http_code}\n' -X POST "$base/-/reload" >> "$work/reloads"; done ) &
load_pids+=($!)
( while :; do sleep 300; eval "$INVARIANTD_TEST_PG_CTL restart -m fast" >/dev/null 2>&1 && echo restarted >> "$work/pg.restarts"; done ) &
load_pids+=($!)
soak_cleanup() { kill "${load_pids[@]}" "$receiver_pid" 2>/dev/null || true; }
trap 'soak_cleanup; bench_cleanup' EXIT

p99() {  # p99 in ms of the latencies appended to $1 since line $2
  tail -n +"$2" "$1" | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else {i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f", a[i] * 1000}}'
}
tsv=$results/soak.tsv
printf 'seconds\trss_mb\tfds\tthreads\toutbox\thealth_p99_ms\tmetrics_p99_ms\n' > "$tsv"
health_from=1; metrics_from=1
start=$(date +%s)
end=$((start + minutes * 60))
while [ "$(date +%s)" -lt "$end" ]; do
  sleep 10
  kill -0 "$daemon_pid" || { echo "soak: the daemon died" >&2; tail -40 "$work/daemon.log" >&2; exit 1; }
  rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status")
  threads=$(awk '/^Threads/ {print $2}' "/proc/$daemon_pid/status")
  fds=$(ls "/proc/$daemon_pid/fd" | wc -l)
  outbox=$(curl -s "$base/metrics" | awk '/^invariantd_notification_queue_length/ {s += $2} END {print s + 0}')
  health_lines=$(wc -l < "$work/health.lat"); metrics_lines=$(wc -l < "$work/metrics.lat")
  printf '%d\t%.1f\t%d\t%d\t%d\t%s\t%s\n' $(( $(date +%s) - start )) "$(echo "$rss_kb / 1024" | bc -l)" "$fds" "$threads" \
    "$outbox" "$(p99 "$work/health.lat" "$health_from")" "$(p99 "$work/metrics.lat" "$metrics_from")" | tee -a "$tsv"
  health_from=$((health_lines + 1)); metrics_from=$((metrics_lines + 1))
done
soak_cleanup

final_metrics=$(curl -s "$base/metrics")
sent=$(awk '/^invariantd_notifications_total\{.*outcome="sent"/ {s += $2} END {print s + 0}' <<<"$final_metrics")
failed=$(awk '/^invariantd_notifications_total\{.*outcome="failed"/ {s += $2} END {print s + 0}' <<<"$final_metrics")
runs=$(awk '/^invariantd_check_runs_total/ {s += $2} END {print s + 0}' <<<"$final_metrics")
pg_errors=$(awk '/^invariantd_check_runs_total\{check="soak_.*outcome="(error|timeout)"/ {s += $2} END {print s + 0}' <<<"$final_metrics")
restarts=$(wc -l < "$work/pg.restarts" 2>/dev/null || echo 0)
reloads_ok=$(grep -c '^200$' "$work/reloads" 2>/dev/null || echo 0)
reloads_all=$(wc -l < "$work/reloads" 2>/dev/null || echo 0)
gnuplot <<GP
set terminal pngcairo size 1200,900 font ",10"
set output "$results/soak.png"
set multiplot layout 3,1 title "invariantd soak: ${minutes} min, demo + PostgreSQL checks at 1 s, reload every 30 s, PostgreSQL restart every 5 min, 1 in 10 deliveries failing"
set xlabel "minutes"
set key outside right
set datafile separator "\t"
set ylabel "MB / count"
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
plot "$tsv" using (\$1/60):2 with lines lw 2 title "RSS MB", "" using (\$1/60):3 with lines title "open fds", "" using (\$1/60):4 with lines title "threads"
set ylabel "notifications"
set offsets 0, 0, 0, 0
set yrange [0:*]
plot "$tsv" using (\$1/60):5 with steps lw 2 title "outbox (queued, sampled)"
set ylabel "ms"
set yrange [*:*]
set logscale y
plot "$tsv" using (\$1/60):6 with lines title "/health p99", "" using (\$1/60):7 with lines title "/metrics p99 (gzip)"
unset multiplot
GP

# Growth after the first 5 minutes: largest of minute 5–6 against largest of the last minute.
verdict=$(awk -F'\t' -v last="$((minutes * 60 - 60))" '
  NR > 1 && $1 >= 300 && $1 < 360 { if ($2 > rss0) rss0 = $2; if ($3 > fd0) fd0 = $3 }
  NR > 1 && $1 >= last { if ($2 > rss1) rss1 = $2; if ($3 > fd1) fd1 = $3 }
  END { printf "RSS %.1f -> %.1f MB (%+.1f %%), fds %d -> %d (%+.1f %%)\n", rss0, rss1, (rss1 / rss0 - 1) * 100, fd0, fd1, (fd1 / fd0 - 1) * 100;
        exit (rss1 > rss0 * 1.1 || fd1 > fd0 * 1.1) ? 1 : 0 }' "$tsv") && ok=1 || ok=0
echo "soak: $minutes min, $runs check runs ($pg_errors PostgreSQL check runs failed across $restarts PostgreSQL restarts), $reloads_ok of $reloads_all reloads answered 200"
echo "soak: notifications sent $sent, failed attempts $failed (the receiver refuses every tenth request)"
echo "soak: $verdict"
awk -F'\t' 'NR > 1 { h[NR] = $6; m[NR] = $7; if ($6 > hm) hm = $6; if ($7 > mm) mm = $7 } END { printf "soak: worst 10 s p99 /health %.2f ms, /metrics %.2f ms\n", hm, mm }' "$tsv"
echo "soak: plot $results/soak.png, samples $results/soak.tsv"
[ "$ok" = 1 ] || { echo "soak: FAILED — growth over 10 %" >&2; exit 1; }
