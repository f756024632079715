#!/usr/bin/env bash
# The memory an nginx instance with ngx_http_ipng_stats_module uses over
# stock nginx with the same configuration: both started side by side (their
# own prefixes and loopback ports), the same traffic through every worker
# (enough to cycle each worker's 16,384-record ring), 12,000 keys put in the
# zone as bench/ab.sh's 12k mode does, scrapes of them in every format; then
# the PSS of each instance summed over its processes (master, workers, stats
# process; /proc/PID/smaps_rollup, so pages shared among them count once),
# the difference, and the module's processes one by one. Then reloads of the
# module's instance, counting the JVMs they start (the stats process's
# notice "ipng_stats: JVM started in N ms, stats process RSS +N kB").
#
#   bench/memory.sh                     # worker_processes 1, 4 and 16 (~3 min)
#   bench/memory.sh --workers "4 16"
#   bench/memory.sh --smoke             # 1 worker, 3,000 keys, a few seconds: does it work?
#
# Options (or the environment variable in brackets):
#   --workers "L"   [WORKERS_LIST="1 4 16"] worker_processes of each pair of instances
#   --per-worker N  [PER_WORKER=20000]  requests every worker serves, at least (its ring
#                                       holds 16,384 records), counted from its write
#                                       system calls (/proc/PID/io)
#   --scrapes N     [SCRAPES=3]         scrapes of the zone per format
#   --formats "L"   [FORMATS="text text+gzip openmetrics json"] the formats scraped
#                                       (Prometheus sends text+gzip alone)
#   --reloads N     [RELOADS=3]         reloads of the module's instance (kill -HUP)
#   --jvm-options "L" [JVM_OPTIONS=""]  "ipng_stats_jvm_options L;" in (c)'s http block: the
#                                       stats process's JVM options after the baseline's
#                                       (e.g. "-XX:TieredStopAtLevel=1 -Xshare:off")
#   --env "L"       [NGINX_ENV=""]      an "env NAME=V;" line for each NAME=V of L in the main
#                                       context of both instances: the environment of their
#                                       workers and of the stats process (JAVA_TOOL_OPTIONS
#                                       reaches the JVM; glibc's MALLOC_* do not, libc read
#                                       them when nginx started: MALLOC_ARENA_MAX=2 bench/memory.sh)
#   --keep                              keep the temporary prefix (configs, error logs, the
#                                       stats process's smaps when measured)
# Paths as bench/ab.sh: NGINX=/usr/sbin/nginx, MODULE=target/dist/ngx_http_ipng_stats_module.so,
# JAR=target/dist/ipng-stats.jar, copied into the prefix. Needs root (the
# workers' smaps and pagemap; nginx's user nobody). Stops only the nginx
# instances it started, on exit, failure or Ctrl-C.
#
# Exit status: 0 when every run completed, whatever the figures; 1 on a
# failure to run. The target (the module's instance at most 64 MB of PSS over
# stock's; one JVM started per reload) is printed met / MISSED, never enforced.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
helper="$here/ab_helper.py"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

WORKERS_LIST=${WORKERS_LIST:-"1 4 16"}
PER_WORKER=${PER_WORKER:-20000}
SCRAPES=${SCRAPES:-3}
FORMATS=${FORMATS:-"text text+gzip openmetrics json"}
RELOADS=${RELOADS:-3}
JVM_OPTIONS=${JVM_OPTIONS:-}
NGINX_ENV=${NGINX_ENV:-}
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$root/target/dist/ngx_http_ipng_stats_module.so}
JAR=${JAR:-$root/target/dist/ipng-stats.jar}
TARGET_MB=64
SMOKE=0
KEEP=0

while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) SMOKE=1; WORKERS_LIST=1; PER_WORKER=4000; SCRAPES=1; RELOADS=1 ;;
        --workers) WORKERS_LIST=$2; shift ;;
        --per-worker) PER_WORKER=$2; shift ;;
        --scrapes) SCRAPES=$2; shift ;;
        --formats) FORMATS=$2; shift ;;
        --reloads) RELOADS=$2; shift ;;
        --jvm-options) JVM_OPTIONS=$2; shift ;;
        --env) NGINX_ENV=$2; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "memory.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

for f in "$NGINX" "$MODULE" "$JAR"; do
    [ -e "$f" ] || { echo "memory.sh: $f not found (build with: mvn -q -B -DskipTests package)" >&2; exit 1; }
done
for t in wrk python3 curl; do
    command -v "$t" >/dev/null || { echo "memory.sh: $t is not installed" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/ipng-memory.XXXXXX)
chmod 755 "$tmp"                       # the workers run as nobody
masters=()

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_masters 50 "${masters[@]}"
    if [ "$KEEP" = 1 ] || [ $rc -ne 0 ]; then
        echo "memory.sh: files kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_prefix "$tmp" memory.sh cds

declare -A PORT KPORTS DIR MASTER
summary=()

notices() {
    grep -c 'JVM started in' "${DIR[c]}/logs/error.log" || true
}

# start variant $1 (a: stock, c: the module) with $2 workers and the 12k
# configuration; wait until it answers and (c)'s stats process has its JVM
start() {
    local v=$1 w=$2 p="$tmp/$1-w$2" master="" i e
    rm -rf "$p" && mkdir -p "$p/logs" && chmod 755 "$p" "$p/logs"
    ln -s "$tmp/html" "$p/html"
    python3 "$helper" conf "$v" 1 "$p" "$tmp/ngx_http_ipng_stats_module.so" \
        "$tmp/ipng-stats.jar" "$w" "${PORT[$v]}" ${KPORTS[$v]} > "$p/conf.txt"
    {
        for e in $NGINX_ENV; do echo "env $e;"; done
        if [ "$v" = c ] && [ -n "$JVM_OPTIONS" ]; then
            sed "/^ *ipng_stats_classpath /a\\    ipng_stats_jvm_options $JVM_OPTIONS;" "$p/conf.txt"
        else
            cat "$p/conf.txt"
        fi
    } > "$p/nginx.conf"
    "$NGINX" -p "$p" -c "$p/nginx.conf" -e "$p/logs/error.log" 2> "$p/start.txt" \
        || { cat "$p/start.txt" "$p/logs/error.log" >&2; return 1; }
    for i in $(seq 100); do
        master=$(cat "$p/logs/nginx.pid" 2>/dev/null || true)
        [ -n "$master" ] && break
        sleep 0.05
    done
    [ -n "$master" ] || { echo "memory.sh: nginx did not write its pid" >&2; return 1; }
    masters+=("$master")
    DIR[$v]=$p
    MASTER[$v]=$master
    for i in $(seq 200); do
        if curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$v]}/index.html" 2>/dev/null; then
            [ "$v" = a ] || grep -q 'JVM started in' "$p/logs/error.log" && break
        fi
        sleep 0.1
    done
    if [ "$v" = c ] && ! grep -q 'JVM started in' "$p/logs/error.log"; then
        echo "memory.sh: no JVM start in (c):" >&2; cat "$p/logs/error.log" >&2; return 1
    fi
}

stop() {
    local m=${MASTER[$1]} i
    kill -TERM "$m"
    for i in $(seq 100); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$m" 2>/dev/null; then
        echo "memory.sh: nginx $m did not stop" >&2; return 1
    fi
}

# the fewest requests a worker of variant $1 has served
least() {
    python3 "$helper" writes "${MASTER[$1]}" | awk 'NR == 1 || $2 < m {m = $2} END {print m + 0}'
}

# waves of keep-alive traffic (new connections each time, so nginx hands
# them to other workers) until every worker of (a) and (c) has served
# PER_WORKER requests
traffic() {
    local w=$1 conns wave v
    conns=$((8 * w > 32 ? 8 * w : 32))
    for wave in $(seq 100); do
        local short=0
        for v in a c; do
            if [ "$(least "$v")" -lt "$PER_WORKER" ]; then
                short=1
                wrk -t2 -c"$conns" -d"$([ "$SMOKE" = 1 ] && echo 1 || echo 2)s" \
                    "http://127.0.0.1:${PORT[$v]}/index.html" > "${DIR[$v]}/wrk.$wave.txt"
            fi
        done
        [ "$short" = 0 ] && return 0
    done
    echo "memory.sh: some worker served fewer than $PER_WORKER requests after 100 waves" >&2
}

# scrapes of variant $1 in each of FORMATS: "format bytes" lines
scrapes() {
    local v=$1 i f h url="http://127.0.0.1:${PORT[$1]}/status"
    for i in $(seq "$SCRAPES"); do
        for f in $FORMATS; do
            case "$f" in
                text) h='Accept: text/plain' ;;
                text+gzip) h='Accept-Encoding: gzip' ;;
                openmetrics) h='Accept: application/openmetrics-text; version=1.0.0' ;;
                json) h='Accept: application/json' ;;
                *) echo "memory.sh: unknown format $f" >&2; return 1 ;;
            esac
            echo "$f $(curl -fsS -o /dev/null -w '%{size_download}' -H "$h" "$url")"
        done
    done
}

mb() {
    awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "ipng_stats memory, stock nginx (a) against the module (c), same configuration — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "host: $(nproc) cpus ($cpu), $(uname -sr), $(awk '/^MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo);" \
     "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
echo "per worker_processes: both started side by side; 12,000 keys (4 ports x 50 VIPs x 60 codes) requested" \
     "in both; wrk waves until every worker served >= $PER_WORKER requests; $SCRAPES scrapes each of: $FORMATS;" \
     "then PSS summed over each instance's processes (smaps_rollup); then $RELOADS reloads of (c)"
others=$( (pgrep -x nginx || true) | wc -l)
if [ "$others" -gt 0 ]; then
    echo "note: $others other nginx processes run on this machine; pages they share with these instances" \
         "(the nginx binary, libc, libjvm) lower the PSS of both: 'distinct pages' counts each page once, wholly"
fi
[ -z "$JVM_OPTIONS" ] || echo "(c)'s ipng_stats_jvm_options: $JVM_OPTIONS"
[ -z "$NGINX_ENV" ] || echo "env (both instances): $NGINX_ENV"
[ -z "${MALLOC_ARENA_MAX:-}" ] || echo "nginx started with MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX"
if [ "$SMOKE" = 1 ]; then
    echo "SMOKE MODE: 1 worker, 3,000 keys, few requests; figures meaningless, targets not checked"
fi
echo

for W in $WORKERS_LIST; do
    read -r -a ports <<<"$(python3 "$helper" ports 10)"
    PORT[a]=${ports[0]}; KPORTS[a]="${ports[*]:1:4}"
    PORT[c]=${ports[5]}; KPORTS[c]="${ports[*]:6:4}"
    start a "$W"
    start c "$W"
    for v in a c; do
        if [ "$SMOKE" = 1 ]; then
            set -- ${KPORTS[$v]}
            python3 "$helper" populate "$1" > "${DIR[$v]}/populate.txt"
        else
            python3 "$helper" populate ${KPORTS[$v]} > "${DIR[$v]}/populate.txt"
        fi
    done
    traffic "$W"
    for v in a c; do
        scrapes "$v" > "${DIR[$v]}/scrapes.txt"
    done
    sleep 1                                  # the drain thread's and the allocator's last moves
    keys=$(python3 "$helper" keys "http://127.0.0.1:${PORT[c]}/status")
    dropped=$(python3 "$helper" metric "http://127.0.0.1:${PORT[c]}/status" nginx_ipng_dropped_records_total)
    for v in a c; do
        python3 "$helper" pss "${MASTER[$v]}" > "${DIR[$v]}/pss.txt"
        python3 "$helper" resident "${MASTER[$v]}" > "${DIR[$v]}/resident.txt"
        python3 "$helper" writes "${MASTER[$v]}" > "${DIR[$v]}/writes.txt"
    done
    for pid in $(awk '$1 == "s" {print $2}' "${DIR[c]}/pss.txt"); do   # where its memory goes (--keep)
        cat "/proc/$pid/smaps" > "${DIR[c]}/smaps.stats.$pid.txt" 2>/dev/null || true
    done
    pa=$(awk '{s += $4} END {print s + 0}' "${DIR[a]}/pss.txt")
    pc=$(awk '{s += $4} END {print s + 0}' "${DIR[c]}/pss.txt")
    ra=$(cat "${DIR[a]}/resident.txt")
    rc=$(cat "${DIR[c]}/resident.txt")
    diff=$((pc - pa))
    ok=$([ "$diff" -le $((TARGET_MB * 1024)) ] && echo met || echo MISSED)
    [ "$SMOKE" = 1 ] && ok="n/a (smoke)"

    echo "== worker_processes $W =="
    for v in a c; do
        printf '  %s requests per worker: %s\n' "$v" "$(awk '{print $2}' "${DIR[$v]}/writes.txt" | sort -n | paste -sd' ')"
    done
    echo "  (c)'s zone: $keys keys, nginx_ipng_dropped_records_total $dropped$([ "$dropped" = 0 ] || echo '   !! records were dropped');" \
         "largest scrapes: $(awk '$2 > m[$1] {m[$1] = $2} END {for (f in m) print f, m[f]}' "${DIR[c]}/scrapes.txt" \
            | sort | awk '{printf "%s%s %d B", (NR > 1 ? ", " : ""), $1, $2}')"
    printf '  %-34s %9s %10s %17s\n' "instance" "processes" "PSS MB" "distinct pages MB"
    printf '  %-34s %9d %10s %17s\n' "(a) stock nginx" "$(wc -l < "${DIR[a]}/pss.txt")" "$(mb "$pa")" "$(mb "$ra")"
    printf '  %-34s %9d %10s %17s\n' "(c) ipng_stats" "$(wc -l < "${DIR[c]}/pss.txt")" "$(mb "$pc")" "$(mb "$rc")"
    printf '  %-34s %9s %10s %17s   target PSS <= +%d MB: %s\n' "(c) - (a)" "" "+$(mb "$diff")" \
        "+$(mb $((rc - ra)))" "$TARGET_MB" "$ok"
    echo "  (c) by process (kB):       Rss      Pss  Private"
    awk '{ n = $1 == "m" ? "master" : $1 == "w" ? "worker" : $1 == "s" ? "stats process" : "other";
           printf "    %-14s %7d %8d %8d %8d\n", n, $2, $3, $4, $5 }' "${DIR[c]}/pss.txt"
    echo "  (a) by process (kB):       Rss      Pss  Private"
    awk '{ n = $1 == "m" ? "master" : $1 == "w" ? "worker" : "other";
           printf "    %-14s %7d %8d %8d %8d\n", n, $2, $3, $4, $5 }' "${DIR[a]}/pss.txt" | head -3
    [ "$W" -gt 2 ] && echo "    ... ($W workers)"

    # reloads: each must start exactly one JVM (the new stats process's)
    before=$(notices)
    starts=()
    for i in $(seq "$RELOADS"); do
        n=$(notices)
        kill -HUP "${MASTER[c]}"
        for _ in $(seq 200); do
            [ "$(notices)" -gt "$n" ] && [ "$(python3 "$helper" pss "${MASTER[c]}" | grep -c '^s ')" = 1 ] && break
            sleep 0.1
        done
        sleep 1                              # a second JVM, if one came, would have said so by now
    done
    after=$(notices)
    started=$((after - before))
    rok=$([ "$started" = "$RELOADS" ] && echo met || echo MISSED)
    [ "$SMOKE" = 1 ] && rok="n/a (smoke)"
    grep 'JVM started in' "${DIR[c]}/logs/error.log" | sed 's/.*JVM started in \([0-9]*\) ms, stats process RSS +\([0-9]*\) kB.*/\1 \2/' \
        > "${DIR[c]}/jvm.txt"
    echo "  reloads of (c): $RELOADS, JVM start notices $started   target one per reload: $rok;" \
         "stats processes now $(python3 "$helper" pss "${MASTER[c]}" | grep -c '^s ')"
    echo "  JVM starts (this W: first start, then reloads): $(awk '{printf "%s%d ms +%.1f MB", (NR > 1 ? ", " : ""), $1, $2 / 1024}' "${DIR[c]}/jvm.txt")"
    echo
    summary+=("$(printf '  %3d   %8s %8s %8s   %s   %d of %d reloads started one JVM: %s' "$W" "$(mb "$pa")" "$(mb "$pc")" \
        "+$(mb "$diff")" "$ok" "$started" "$RELOADS" "$rok")")
    stop a
    stop c
done

echo "== summary: PSS of the instance, MB (master + workers + stats process) =="
echo "  W          (a)      (c)  (c)-(a)   target <= +$TARGET_MB MB"
printf '%s\n' "${summary[@]}"
