#!/usr/bin/env bash
# Per-request C cost of ngx_http_ipng_stats_module, measured deterministically
# (instruction and system-call counts, not time), for the same three nginx
# configurations as bench/ab.sh: (a) stock, (b) stock + access_log buffer=64k,
# (c) the module counting. One keep-alive connection sends exactly N GETs of a
# 612-byte static file after a warm-up of W GETs.
#
#   1. strace -c -f attached to the (only) worker, all its threads, while the
#      N requests run: system calls per request, by name.
#   2. valgrind --tool=callgrind on nginx in single-process mode
#      (master_process off; the module starts its JVM there too): counters are
#      zeroed after the warm-up (callgrind_control -z) and dumped after the N
#      requests (callgrind_control -d). Per request:
#        - inclusive instructions of ngx_http_ipng_stats_log_handler (c), and
#          of ngx_http_ipng_stats_jvm_drain (the batch upcall into Java, once
#          per 256 records or per flush tick), divided by N;
#        - inclusive instructions of ngx_http_free_request, which runs the log
#          phase (every log handler) and frees the request: (b)-(a) is the
#          access_log's cost, (c)-(a) the module's (ngx_http_log_handler itself
#          is static and the Debian binary is stripped, so it has no symbol);
#        - everything the process executed (all threads, JVM included), / N.
#
#   bench/cost.sh                 # N=5120, W=1024 (the README figures)
#   bench/cost.sh --smoke         # N=512, W=256, strace only
#   N=10240 bench/cost.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
helper="$here/ab_helper.py"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
N=${N:-5120}
W=${W:-1024}
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$root/target/dist/ngx_http_ipng_stats_module.so}
JAR=${JAR:-$root/target/dist/ipng-stats.jar}
CALLGRIND=1
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) N=512; W=256; CALLGRIND=0 ;;
        --no-callgrind) CALLGRIND=0 ;;
        --keep) KEEP=1 ;;
        *) echo "cost.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for t in strace python3 curl; do
    command -v "$t" >/dev/null || { echo "cost.sh: $t is not installed" >&2; exit 1; }
done
if [ "$CALLGRIND" = 1 ]; then
    for t in valgrind callgrind_control; do
        command -v "$t" >/dev/null || { echo "cost.sh: $t is not installed" >&2; exit 1; }
    done
fi

tmp=$(mktemp -d /tmp/ipng-cost.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_masters 100 "${pids[@]}"
    if [ "$KEEP" = 1 ] || [ $rc -ne 0 ]; then echo "cost.sh: files kept in $tmp" >&2; else rm -rf "$tmp"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_prefix "$tmp" cost.sh
read -r port <<<"$(python3 "$helper" ports 1)"
url="http://127.0.0.1:$port/index.html"

prep() {     # prep DIR VARIANT WORKERS(0 = single process)
    mkdir -p "$1/logs" && chmod 755 "$1" "$1/logs"
    ln -s "$tmp/html" "$1/html"
    python3 "$helper" conf "$2" 0 "$1" "$tmp/ngx_http_ipng_stats_module.so" "$tmp/ipng-stats.jar" \
        "$3" "$port" > "$1/nginx.conf"
}

wait_ready() {   # wait_ready DIR VARIANT SECONDS
    local i
    for i in $(seq $(($3 * 10))); do
        if curl -fsS -o /dev/null "$url" 2>/dev/null; then
            [ "$2" != c ] && return 0
            grep -q 'JVM started in' "$1/logs/error.log" 2>/dev/null && return 0
            grep -q 'counting is off' "$1/logs/error.log" 2>/dev/null && break
        fi
        sleep 0.1
    done
    echo "cost.sh: nginx in $1 not ready:" >&2
    cat "$1/logs/error.log" >&2 || true
    return 1
}

stop() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    echo "cost.sh: $1 did not stop" >&2
    return 1
}

echo "ipng_stats per-request cost — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cpus ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(uname -sr)"
echo "nginx $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'); one keep-alive connection, $W warm-up + $N measured GETs of a 612-byte file"
echo

# ---- 1. system calls per request (strace -c -f on the worker, all threads)
for v in a b c; do
    d="$tmp/strace-$v"
    prep "$d" "$v" 1
    "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log"
    sleep 0.2
    master=$(cat "$d/logs/nginx.pid")
    pids+=("$master")
    wait_ready "$d" "$v" 30
    python3 "$helper" requests "$url" "$W"
    worker=$(pgrep -P "$master" -f "worker process")    # not (c)'s stats process
    # the event-loop thread alone (where the log phase runs), then all threads
    for scope in main all; do
        f=; [ "$scope" = all ] && f=-f
        strace $f -c -o "$d/strace-$scope.txt" -p "$worker" 2>/dev/null &
        spid=$!
        sleep 1
        python3 "$helper" requests "$url" "$N"
        kill -INT "$spid"
        wait "$spid" || true
    done
    stop "$master"
done
python3 - "$tmp" "$N" <<'EOF'
import re, sys
tmp, n = sys.argv[1], int(sys.argv[2])
for scope, title in (("main", "the worker's event-loop thread (strace -c -p <worker>), where the log phase runs"),
                     ("all", "all threads of the worker, JVM threads included (strace -c -f -p <worker>)")):
    tab = {}
    for v in "abc":
        for line in open("%s/strace-%s/strace-%s.txt" % (tmp, v, scope)):
            f = line.split()
            if len(f) >= 5 and re.match(r"^[\d.]+$", f[0]) and f[-1] != "total":
                tab.setdefault(f[-1], {})[v] = int(f[3])
    print("system calls per request, %s, %d requests:" % (title, n))
    print("  %-16s %9s %9s %9s   %s" % ("syscall", "(a)", "(b)", "(c)", "(c)-(a)"))
    tot = {v: 0 for v in "abc"}
    for s in sorted(tab, key=lambda s: -max(tab[s].values())):
        r = {v: tab[s].get(v, 0) / n for v in "abc"}
        for v in "abc":
            tot[v] += tab[s].get(v, 0)
        print("  %-16s %9.4f %9.4f %9.4f   %+.4f" % (s, r["a"], r["b"], r["c"], r["c"] - r["a"]))
    print("  %-16s %9.4f %9.4f %9.4f   %+.4f" % ("total", tot["a"] / n, tot["b"] / n, tot["c"] / n,
                                                  (tot["c"] - tot["a"]) / n))
    print()
print("(calls during the window divided by the requests: per-second work such as the flush tick is included)")
EOF
echo

[ "$CALLGRIND" = 1 ] || exit 0

# ---- 2. instructions per request (callgrind, single process)
for v in a b c; do
    d="$tmp/cg-$v"
    prep "$d" "$v" 0
    valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" --dump-instr=no \
        --log-file="$d/valgrind.log" \
        "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" &
    vg=$!
    pids+=("$vg")
    wait_ready "$d" "$v" 600
    python3 "$helper" requests "$url" "$W"
    callgrind_control -z "$vg" >/dev/null
    python3 "$helper" requests "$url" "$N"
    callgrind_control -d "$vg" >/dev/null
    stop "$vg"
    wait "$vg" 2>/dev/null || true
    dump=$(ls "$d"/cg.out.* 2>/dev/null | head -1)
    [ -n "$dump" ] || { echo "cost.sh: no callgrind dump in $d" >&2; exit 1; }
    echo "$v $(python3 "$helper" cgparse "$dump" ngx_http_free_request ngx_http_ipng_stats_log_handler ngx_http_ipng_stats_jvm_drain ngx_http_ipng_stats_log_handler'>'ngx_http_ipng_stats_jvm_drain)" >> "$tmp/cg.txt"
done
python3 - "$tmp/cg.txt" "$N" <<'EOF'
import sys
n = int(sys.argv[2])
r = {}
for line in open(sys.argv[1]):
    f = line.split()
    r[f[0]] = [int(x) for x in f[1:]]
# total, free_calls, free_ir, h_calls, h_ir, drain_calls, drain_ir
print("instructions per request (callgrind, single-process nginx, counters zeroed after the warm-up):")
print("  %-58s %10s %10s %10s" % ("", "(a)", "(b)", "(c)"))
print("  %-58s %10.0f %10.0f %10.0f" % ("whole process, all threads (JVM included) / request",
                                        r["a"][0] / n, r["b"][0] / n, r["c"][0] / n))
print("  %-58s %10.1f %10.1f %10.1f" % ("ngx_http_free_request incl. (log phase + free) / request",
                                        r["a"][2] / n, r["b"][2] / n, r["c"][2] / n))
print("  %-58s %10s %10.1f %10.1f" % ("  minus (a): the log phase's added cost", "-",
                                      (r["b"][2] - r["a"][2]) / n, (r["c"][2] - r["a"][2]) / n))
h = r["c"]
print("  ngx_http_ipng_stats_log_handler: %d calls, %.1f instructions/call inclusive"
      % (h[3], h[4] / h[3] if h[3] else 0))
print("  ngx_http_ipng_stats_jvm_drain:   %d calls (batch upcalls into Java), %.0f instructions/call,"
      " %.1f per request" % (h[5], h[6] / h[5] if h[5] else 0, h[6] / n))
print("  of which drains from the handler (batch full): %d, %.1f instructions/request"
      % (h[7], h[8] / n))
print("  handler without its drains (the per-record append): %.1f instructions/request"
      % ((h[4] - h[8]) / h[3] if h[3] else 0))
EOF
