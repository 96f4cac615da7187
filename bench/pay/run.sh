#!/usr/bin/env bash
# A monthly pay run for 500 people (issue 26, goal ≤ 1 s) on SQLite: 500
# customer managers with a base pay, a yearly sales target, 20 orders each in
# the month and the ten duties scored; the run's creation, recomputation and
# read are timed in-process (crates/keqing-app/tests/pay_bench.rs).
#
#   bench/pay/run.sh                      # optimised build (an idle machine)
#   PROFILE=dev bench/pay/run.sh          # the debug build (no release build on a shared machine)
#   PAY_BENCH_PEOPLE=2000 bench/pay/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PAY_BENCH_PEOPLE=${PAY_BENCH_PEOPLE:-500}
if [ "${PROFILE:-release}" = release ]; then
    cargo test -q --release -p keqing-app --test pay_bench -- --ignored --nocapture 2>&1 | grep -E 'pay run|populated'
else
    cargo test -q -p keqing-app --test pay_bench -- --ignored --nocapture 2>&1 | grep -E 'pay run|populated'
fi
