#!/usr/bin/env bash
# Reproduces the issue 15 table of docs/performance.md on a fresh machine:
# PostgreSQL on 127.0.0.1:5432 (trust auth, user `postgres`) and `pgbench`
# from the PostgreSQL client package. About 25 minutes after the build.
#
#   apps/bench/issue15.sh [output directory, default docs/bench/issue15]
#
# Every figure is the median of 3 runs, except the 1,000,000-lead export (one run).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-docs/bench/issue15}"
command -v pgbench >/dev/null || echo "pgbench not found: the pgbench column stays empty" >&2
cargo build --release -p leadflow-server -p leadflow-bench
bench=./target/release/leadflow-bench
"$bench" --runs 3 --out "$out/postgres" \
  --scenarios health,db-list,list-leads,db-get,get-lead,growth,db-insert,submit-lead,login-storm,workflows,workflows-engine
"$bench" --runs 3 --out "$out/sqlite" --engine sqlite --scenarios health,list-leads,get-lead
"$bench" --runs 1 --out "$out/export" --scenarios export
cat "$out/postgres/bench.md" "$out/sqlite/bench.md" "$out/export/bench.md"
