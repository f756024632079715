#!/usr/bin/env bash
# Whole-module A/B benchmark of ngx_http_ipng_stats_module: the same nginx
# configuration run as
#   (a) stock nginx (access_log off),
#   (b) stock nginx with `access_log ... combined buffer=64k`,
#   (c) nginx with this module counting (access_log off) and a scrape every second,
# wrk with keep-alive against a small static file, nginx and wrk pinned to
# different cores, runs alternated a b c a b c ... and repeated; then the same
# again with 12,000 (source, VIP, code) keys active. See bench/README.md.
#
#   bench/ab.sh --rounds 3 --duration 8   # the README figures, both modes (~7 min)
#   bench/ab.sh --smoke                   # a few seconds, no targets: does the script work?
#   bench/ab.sh --mode 12k --scrape /none # the same without the scrape's cost
#
# Options (or the environment variable in brackets):
#   --rounds N      [ROUNDS=5]     alternated a-b-c rounds per mode
#   --duration S    [DURATION=10]  seconds of each timed wrk run
#   --warmup S      [WARMUP=10]    seconds of wrk before each timed run (JIT, caches)
#   --connections C [CONNS=50]     wrk connections (keep-alive), one wrk thread
#   --workers W     [WORKERS=1]    nginx worker_processes, the same for a, b and c
#   --nginx-cpus L  [NGINX_CPUS=0] taskset list for nginx (master and workers)
#   --wrk-cpus L    [WRK_CPUS=1]   taskset list for wrk and the scraper
#   --mode M        [MODE=both]    1key | 12k | both
#   --with-lua      [PEER=lua]     add (d): stock nginx counting per request in a
#                                  lua_shared_dict (apt-get install libnginx-mod-http-lua)
#   --scrape-encoding E [SCRAPE_ENCODING=gzip] the scraper's Accept-Encoding: gzip, as
#                                  Prometheus sends (the body is counted, not unpacked:
#                                  Prometheus unpacks on its own machine); identity
#                                  asks for plain text
#   --max-steal P   [MAX_STEAL=2]  repeat a round (up to --rounds extra ones per mode)
#                                  when the hypervisor took more than P % of nginx's
#                                  or wrk's cpu during one of its timed runs (steal
#                                  time, /proc/stat): such a run measures the host
#                                  machine's neighbours, not nginx; 100 turns it off
#   --scrape PATH   [SCRAPE=/status] what the scraper GETs every second, e.g.
#                                  '/status?vip=192.0.2.1' (the whole zone read, a
#                                  tiny answer) or /none (a 404: no scrape at all)
#   --keep                         keep the temporary prefix (logs, configs, wrk outputs)
# Paths: NGINX=/usr/sbin/nginx, MODULE=target/dist/ngx_http_ipng_stats_module.so,
# JAR=target/dist/ipng-stats.jar (copied into the prefix, so a rebuild during the
# run does not change what is measured). Run `mvn -q -B -DskipTests package` first.
#
# Exit status: 0 when every run completed, whatever the ratios; 1 on a failure
# to run. Targets are printed (met / MISSED), never enforced: benchmarks are not tests.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
helper="$here/ab_helper.py"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-10}
CONNS=${CONNS:-50}
WORKERS=${WORKERS:-1}
NGINX_CPUS=${NGINX_CPUS:-0}
WRK_CPUS=${WRK_CPUS:-1}
MODE=${MODE:-both}
SCRAPE=${SCRAPE:-/status}
MAX_STEAL=${MAX_STEAL:-2}
SCRAPE_ENCODING=${SCRAPE_ENCODING:-gzip}
PEER=${PEER:-}
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$root/target/dist/ngx_http_ipng_stats_module.so}
JAR=${JAR:-$root/target/dist/ipng-stats.jar}
SMOKE=0
KEEP=0

while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) SMOKE=1; ROUNDS=1; DURATION=1; WARMUP=0; CONNS=10; MAX_STEAL=100 ;;
        --rounds) ROUNDS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --connections) CONNS=$2; shift ;;
        --workers) WORKERS=$2; shift ;;
        --nginx-cpus) NGINX_CPUS=$2; shift ;;
        --wrk-cpus) WRK_CPUS=$2; shift ;;
        --mode) MODE=$2; shift ;;
        --scrape) SCRAPE=$2; shift ;;
        --max-steal) MAX_STEAL=$2; shift ;;
        --scrape-encoding) SCRAPE_ENCODING=$2; shift ;;
        --with-lua) PEER=lua ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "ab.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

case "$MODE" in
    1key) modes="1key" ;;
    12k) modes="12k" ;;
    both) modes="1key 12k" ;;
    *) echo "ab.sh: --mode is 1key, 12k or both" >&2; exit 2 ;;
esac

for f in "$NGINX" "$MODULE" "$JAR"; do
    [ -e "$f" ] || { echo "ab.sh: $f not found (build with: mvn -q -B -DskipTests package)" >&2; exit 1; }
done
for t in wrk taskset python3 curl; do
    command -v "$t" >/dev/null || { echo "ab.sh: $t is not installed" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/ipng-ab.XXXXXX)
chmod 755 "$tmp"                       # nginx workers run as nobody when started by root
masters=()
scraper_pid=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$scraper_pid" ] && kill "$scraper_pid" 2>/dev/null || true
    for m in "${masters[@]}"; do
        if kill -0 "$m" 2>/dev/null; then
            kill -TERM "$m" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
            pkill -KILL -P "$m" 2>/dev/null || true
            kill -KILL "$m" 2>/dev/null || true
        fi
    done
    if [ "$KEEP" = 1 ] || [ $rc -ne 0 ]; then
        echo "ab.sh: files kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/html" "$tmp/runs"
cp "$MODULE" "$tmp/ngx_http_ipng_stats_module.so"
cp "$JAR" "$tmp/ipng-stats.jar"
chmod 644 "$tmp/ngx_http_ipng_stats_module.so" "$tmp/ipng-stats.jar"
# a small static response: 612 bytes, like nginx's default index.html
python3 -c 'import sys; sys.stdout.write("<!DOCTYPE html>\n<html><head><title>bench</title></head><body>\n" + "x" * 544 + "\n</body></html>\n")' > "$tmp/html/index.html"

read -r port kp1 kp2 kp3 kp4 <<<"$(python3 "$helper" ports 5)"
results="$tmp/results.txt"
round_results="$tmp/round.txt"
jvmlog="$tmp/jvm.txt"
runs=0
: > "$results"
: > "$jvmlog"

# one run: start nginx as variant $2 in mode $1, round $3; append a result line
run() {
    runs=$((runs + 1))
    local mode=$1 v=$2 round=$3 keys=0 p="$tmp/runs/$1-$2-$3.$runs"
    [ "$mode" = 12k ] && keys=1
    mkdir -p "$p/logs" && chmod 755 "$p" "$p/logs"
    ln -s "$tmp/html" "$p/html"
    python3 "$helper" conf "$v" "$keys" "$p" "$tmp/ngx_http_ipng_stats_module.so" \
        "$tmp/ipng-stats.jar" "$WORKERS" "$port" $kp1 $kp2 $kp3 $kp4 > "$p/nginx.conf"

    taskset -c "$NGINX_CPUS" "$NGINX" -p "$p" -c "$p/nginx.conf" -e "$p/logs/error.log" \
        || { cat "$p/logs/error.log" >&2; return 1; }
    local master="" i
    for i in $(seq 100); do
        master=$(cat "$p/logs/nginx.pid" 2>/dev/null || true)
        [ -n "$master" ] && break
        sleep 0.05
    done
    [ -n "$master" ] || { echo "ab.sh: nginx did not write its pid" >&2; return 1; }
    masters+=("$master")

    # ready: the file answers, and in (c) every worker has started its JVM
    for i in $(seq 200); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/index.html" 2>/dev/null; then
            if [ "$v" != c ] || [ "$(grep -c 'JVM started in' "$p/logs/error.log")" -ge "$WORKERS" ]; then
                break
            fi
        fi
        sleep 0.1
    done
    if [ "$v" = c ]; then
        grep -q 'JVM started in' "$p/logs/error.log" \
            || { echo "ab.sh: no JVM start in (c):" >&2; cat "$p/logs/error.log" >&2; return 1; }
        grep 'JVM started in' "$p/logs/error.log" >> "$jvmlog"
    fi

    if [ "$keys" = 1 ]; then
        taskset -c "$WRK_CPUS" python3 "$helper" populate $kp1 $kp2 $kp3 $kp4 > "$p/populate.txt"
    fi

    taskset -c "$WRK_CPUS" python3 "$helper" scraper "http://127.0.0.1:$port$SCRAPE" "$p/scrape.txt" "$SCRAPE_ENCODING" &
    scraper_pid=$!
    if [ "$WARMUP" != 0 ]; then
        taskset -c "$WRK_CPUS" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$port/index.html" > "$p/warmup.txt"
    fi
    cp /proc/stat "$p/stat.before"
    taskset -c "$WRK_CPUS" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
        "http://127.0.0.1:$port/index.html" > "$p/wrk.txt"
    cp /proc/stat "$p/stat.after"
    kill -TERM "$scraper_pid"
    wait "$scraper_pid" || true
    scraper_pid=

    local rss=0 w
    for w in $(pgrep -P "$master"); do
        rss=$((rss + $(awk '/^VmRSS:/ {print $2}' "/proc/$w/status")))
    done
    rss=$((rss / WORKERS))
    local nkeys=-1
    if [ "$v" = c ]; then
        sleep 1.2                        # one flush interval: every worker's counts in the zone
        nkeys=$(python3 "$helper" keys "http://127.0.0.1:$port/status")
    fi

    kill -TERM "$master"
    for i in $(seq 100); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$master" 2>/dev/null; then
        echo "ab.sh: nginx $master did not stop" >&2; return 1
    fi

    local scr steal
    scr=$(cat "$p/scrape.txt")
    steal=$(python3 "$helper" steal "$p/stat.before" "$p/stat.after" "$NGINX_CPUS,$WRK_CPUS")
    echo "$mode $v $round $(python3 "$helper" wrk "$p/wrk.txt") $rss $scr $nkeys $steal" >> "$round_results"
    printf '  %-5s round %d (%s): %s, steal %s%%\n' "$mode" "$round" "$v" \
        "$(awk '/Requests\/sec/ {print $2 " req/s"}' "$p/wrk.txt"), p99 $(awk '$1 == "99%" {print $2}' "$p/wrk.txt")" "$steal" >&2
}

variants="a b c"
if [ "$PEER" = lua ]; then
    for f in /usr/lib/nginx/modules/ndk_http_module.so /usr/lib/nginx/modules/ngx_http_lua_module.so; do
        [ -e "$f" ] || { echo "ab.sh: --with-lua needs $f (apt-get install libnginx-mod-http-lua)" >&2; exit 1; }
    done
    variants="a b c d"
fi

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "ipng_stats whole-module A/B — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "host: $(nproc) cpus ($cpu), $(uname -sr), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), worker_processes $WORKERS on cpus $NGINX_CPUS;" \
     "wrk -t1 -c$CONNS --latency on cpus $WRK_CPUS, keep-alive, GET of a 612-byte static file"
echo "runs: $ROUNDS alternated rounds ($variants, rotated one place per round) x ${DURATION} s per mode, ${WARMUP} s wrk warm-up before each;" \
     "every run is a fresh nginx; scrape: GET $SCRAPE every 1 s in every variant (/status is stub_status in a, b)," \
     "Accept-Encoding: $SCRAPE_ENCODING; runs where the hypervisor took more than $MAX_STEAL% of a cpu are done again"
if [ "$PEER" = lua ]; then
    echo "(d): stock nginx + lua_shared_dict counters per (VIP, port, status) in log_by_lua, its /status walks the dictionary"
fi
[ "$SMOKE" = 1 ] && echo "SMOKE MODE: figures meaningless, targets not checked"
echo

# The variants of round $1, rotated one place per round (a b c, b c a, c a b, ...):
# each variant takes each place in turn, so whatever favours the first or
# the last run of a round (a drift, a periodic host job) does not always
# fall on the same variant.
round_order() {
    local r=$1 i n
    set -- $variants
    n=$#
    for ((i = 0; i < n; i++)); do
        local k=$(( (i + r - 1) % n + 1 ))
        printf '%s ' "${!k}"
    done
}

for mode in $modes; do
    r=1
    repeats=0
    while [ "$r" -le "$ROUNDS" ]; do
        : > "$round_results"
        for v in $(round_order "$r"); do
            run "$mode" "$v" "$r"
        done
        # the round's worst steal; a repeated round's runs stay in the results, commented
        worst=$(awk '{print $NF}' "$round_results" | sort -g | tail -n 1)
        if awk -v w="$worst" -v m="$MAX_STEAL" 'BEGIN { exit !(w > m) }' && [ "$repeats" -lt "$ROUNDS" ]; then
            repeats=$((repeats + 1))
            sed 's/^/#steal /' "$round_results" >> "$results"
            echo "  $mode round $r again: the hypervisor took $worst% of a cpu in one of its runs (--max-steal $MAX_STEAL)" >&2
            continue
        fi
        cat "$round_results" >> "$results"
        r=$((r + 1))
    done
done

python3 "$helper" summary "$results" "$jvmlog" "$SMOKE" "$MAX_STEAL"
echo "(load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
