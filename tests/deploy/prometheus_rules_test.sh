#!/usr/bin/env bash
# The Prometheus files in deploy/prometheus/ with the real promtool: the scrape config (and
# the rule file it loads) parses, the rules parse, and the rule unit tests pass.
set -euo pipefail
cd "$(dirname "$0")/../../deploy/prometheus"
command -v promtool >/dev/null || { echo "promtool not installed (Debian package prometheus)" >&2; exit 1; }
promtool check config prometheus.yml
promtool check rules invariantd-rules.yml
promtool test rules invariantd-rules.test.yml
