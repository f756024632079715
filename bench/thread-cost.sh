#!/usr/bin/env bash
# What a second thread costs an nginx worker by itself: stock nginx three
# ways, side by side on one cpu (every variant loaded at once, so the
# machine's drift falls on all alike), compared by the workers' CPU time per
# request (schedstat):
#   (a) stock nginx;
#   (p) stock nginx whose workers have one idle pthread (bench/idle_thread.c,
#       preloaded): glibc's multi-threaded paths and the kernel's;
#   (k) the same with an idle bare clone() thread: the kernel's paths only;
#   (q) (p) with the worker's thread set to cancellation disabled, type
#       asynchronous, as the module sets its workers: glibc's cancellable
#       system calls then skip their atomic bookkeeping.
# Historical since the stats process (2026-12-07): the module's workers no
# longer host a JVM and stay single-threaded, so this floor no longer applies
# to them. It was the measurement behind that change, a JVM in every worker
# paying at least (p)/(a) whatever the module did per request
# (docs/performance.md, 2026-12-02); kept to show what a thread in a worker
# would cost again.
#
#   bench/thread-cost.sh            # 5 runs x 10 s
#   RUNS=3 DURATION=5 bench/thread-cost.sh
#   bench/thread-cost.sh --smoke    # 1 run x 1 s: does it work?
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
helper="$here/ab_helper.py"
RUNS=${RUNS:-5}
DURATION=${DURATION:-10}
NGINX=${NGINX:-/usr/sbin/nginx}
[ "${1:-}" = --smoke ] && { RUNS=1; DURATION=1; }

tmp=$(mktemp -d /tmp/ipng-threads.XXXXXX)
chmod 755 "$tmp"
masters=()
cleanup() {
    local m
    for m in "${masters[@]}"; do kill -TERM "$m" 2>/dev/null || true; done
    sleep 0.5
    rm -rf "$tmp"
}
trap cleanup EXIT

gcc -O2 -shared -fPIC -o "$tmp/idle_thread.so" "$here/idle_thread.c"
chmod 755 "$tmp/idle_thread.so"
mkdir -p "$tmp/html"
python3 -c 'import sys; sys.stdout.write("x" * 612)' > "$tmp/html/index.html"
read -r -a ports <<<"$(python3 "$helper" ports 4)"
declare -A PORT MASTER
i=0
for v in a p k q; do
    PORT[$v]=${ports[$i]}
    i=$((i + 1))
    p="$tmp/$v"
    mkdir -p "$p/logs" && chmod 755 "$p" "$p/logs" && ln -s "$tmp/html" "$p/html"
    python3 "$helper" conf a 0 "$p" - - 1 "${PORT[$v]}" > "$p/nginx.conf"
    how=
    [ "$v" = p ] && how=pthread
    [ "$v" = k ] && how=clone
    [ "$v" = q ] && how=pthread-async
    env ${how:+LD_PRELOAD=$tmp/idle_thread.so IPNG_IDLE_THREAD=$how} \
        taskset -c 0 "$NGINX" -p "$p" -c "$p/nginx.conf" -e "$p/logs/error.log"
    for _ in $(seq 100); do [ -s "$p/logs/nginx.pid" ] && break; sleep 0.05; done
    MASTER[$v]=$(cat "$p/logs/nginx.pid")
    masters+=("${MASTER[$v]}")
done
sleep 0.5
for v in a p k q; do
    echo "($v) worker threads: $(ls "/proc/$(pgrep -P "${MASTER[$v]}" | head -1)/task" | wc -l)"
done

results="$tmp/results.txt"
: > "$results"
for r in $(seq "$RUNS"); do
    for v in a p k q; do
        python3 "$helper" threads "${MASTER[$v]}" > "$tmp/$v/before"
    done
    pids=()
    for v in a p k q; do
        taskset -c 1 wrk -t1 -c50 -d"${DURATION}s" "http://127.0.0.1:${PORT[$v]}/index.html" > "$tmp/$v/wrk" &
        pids+=($!)
    done
    wait "${pids[@]}"
    for v in a p k q; do
        python3 "$helper" threads "${MASTER[$v]}" > "$tmp/$v/after"
        echo "#together threads $v $r $(python3 "$helper" cpu "$tmp/$v/before" "$tmp/$v/after" "$tmp/$v/wrk")" >> "$results"
    done
done
python3 "$helper" together "$results" p/a k/a q/a q/p
