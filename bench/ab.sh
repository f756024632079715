#!/usr/bin/env bash
# Whole-module A/B benchmark of ngx_http_ipng_stats_module: the same nginx
# configuration run as
#   (a) stock nginx (access_log off),
#   (b) stock nginx with `access_log ... combined buffer=64k`,
#   (c) nginx with this module counting (access_log off) and a scrape every second,
# wrk with keep-alive against a small static file, nginx and wrk pinned to
# different cores. CPU time is counted for the whole instance: the master, its
# workers and the ipng stats process (the one JVM), every thread. The three
# run side by side, warmed up, and take the load in
# turn: short timed slices alternated a b c, b c a, c a b, ... for many rounds,
# so the machine's drift (the per-slice spread on a shared VM is 20-45 %) falls
# on all three alike and the per-round ratios have a tight median. Then the
# same again with 12,000 (source, VIP, code) keys active. See bench/README.md.
#
#   bench/ab.sh                           # the README figures, both modes (~12 min)
#   bench/ab.sh --smoke                   # a few seconds, no targets: does the script work?
#   bench/ab.sh --mode 12k --scrape /none # the same without the scrape's cost
#
# Options (or the environment variable in brackets):
#   --rounds N      [ROUNDS=20]    alternated a-b-c rounds per mode; 0: only the side-by-side
#                                  runs (--together), a few minutes
#   --duration S    [DURATION=3]   seconds of each timed wrk slice
#   --warmup S      [WARMUP=10]    seconds of wrk and scrapes on each variant before
#                                  the first round (JIT, caches)
#   --jvm-starts N  [JVM_STARTS=5] times (c) is started alone first, for the stats
#                                  process's JVM: how many start (one), start time, RSS
#   --together N    [TOGETHER=3]   after the rounds, N runs with every variant loaded
#                                  at once on the same cpus, for a CPU time per
#                                  request that the machine's drift does not move;
#                                  then every instance's CPU at idle, IDLE_SECONDS=5
#   --together-duration S [TOGETHER_DURATION=10] seconds of each of those runs
#   --connections C [CONNS=50]     wrk connections (keep-alive), one wrk thread
#   --workers W     [WORKERS=1]    nginx worker_processes, the same for a, b and c
#   --nginx-cpus L  [NGINX_CPUS=0] taskset list for nginx (master and workers)
#   --wrk-cpus L    [WRK_CPUS=1]   taskset list for wrk and the scraper
#   --mode M        [MODE=both]    1key | 12k | both
#   --with-lua      [PEER=lua]     add (d): stock nginx counting per request in a
#                                  lua_shared_dict (apt-get install libnginx-mod-http-lua)
#   --with-idle     [IDLE=1]       add (e): the module loaded, its stats process and JVM
#                                  up, counting off (`ipng_stats off;`): what hosting
#                                  the JVM costs apart from what counting and scraping cost
#   --scrape-encoding E [SCRAPE_ENCODING=gzip] the scraper's Accept-Encoding: gzip, as
#                                  Prometheus sends (the body is counted, not unpacked:
#                                  Prometheus unpacks on its own machine); identity
#                                  asks for plain text
#   --max-steal P   [MAX_STEAL=2]  repeat a round (up to --rounds extra ones per mode)
#                                  when the hypervisor took more than P % of nginx's
#                                  or wrk's cpu during one of its timed slices (steal
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
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

ROUNDS=${ROUNDS:-20}
DURATION=${DURATION:-3}
JVM_STARTS=${JVM_STARTS:-5}
TOGETHER=${TOGETHER:-3}
TOGETHER_DURATION=${TOGETHER_DURATION:-10}
IDLE_SECONDS=${IDLE_SECONDS:-5}
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
IDLE=${IDLE:-}
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$root/target/dist/ngx_http_ipng_stats_module.so}
JAR=${JAR:-$root/target/dist/ipng-stats.jar}
SMOKE=0
KEEP=0

while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) SMOKE=1; ROUNDS=1; DURATION=1; WARMUP=0; CONNS=10; MAX_STEAL=100; JVM_STARTS=1; TOGETHER=1; TOGETHER_DURATION=1; IDLE_SECONDS=1 ;;
        --rounds) ROUNDS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --jvm-starts) JVM_STARTS=$2; shift ;;
        --together) TOGETHER=$2; shift ;;
        --together-duration) TOGETHER_DURATION=$2; shift ;;
        --connections) CONNS=$2; shift ;;
        --workers) WORKERS=$2; shift ;;
        --nginx-cpus) NGINX_CPUS=$2; shift ;;
        --wrk-cpus) WRK_CPUS=$2; shift ;;
        --mode) MODE=$2; shift ;;
        --scrape) SCRAPE=$2; shift ;;
        --max-steal) MAX_STEAL=$2; shift ;;
        --scrape-encoding) SCRAPE_ENCODING=$2; shift ;;
        --with-lua) PEER=lua ;;
        --with-idle) IDLE=1 ;;
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
scraper_pids=()

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for m in "${scraper_pids[@]}"; do kill "$m" 2>/dev/null || true; done
    stop_masters 50 "${masters[@]}"
    if [ "$KEEP" = 1 ] || [ $rc -ne 0 ]; then
        echo "ab.sh: files kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the class data archive records its jar's path: one for this copy, as the
# build makes one next to target/dist/ipng-stats.jar (ipng_stats_cds_archive)
bench_prefix "$tmp" ab.sh cds

results="$tmp/results.txt"
round_results="$tmp/round.txt"
jvmlog="$tmp/jvm.txt"
: > "$results"
: > "$jvmlog"
declare -A PORT KPORTS DIR MASTER

# start variant $2 of mode $1 on its own ports and prefix; wait until it
# answers and, in (c) and (e), until the stats process has started its JVM
start() {
    local mode=$1 v=$2 keys=0 p="$tmp/$1-$2" master="" i
    [ "$mode" = 12k ] && keys=1
    rm -rf "$p" && mkdir -p "$p/logs" "$p/slices" && chmod 755 "$p" "$p/logs"
    ln -s "$tmp/html" "$p/html"
    python3 "$helper" conf "$v" "$keys" "$p" "$tmp/ngx_http_ipng_stats_module.so" \
        "$tmp/ipng-stats.jar" "$WORKERS" "${PORT[$v]}" ${KPORTS[$v]} > "$p/nginx.conf"
    taskset -c "$NGINX_CPUS" "$NGINX" -p "$p" -c "$p/nginx.conf" -e "$p/logs/error.log" \
        || { cat "$p/logs/error.log" >&2; return 1; }
    for i in $(seq 100); do
        master=$(cat "$p/logs/nginx.pid" 2>/dev/null || true)
        [ -n "$master" ] && break
        sleep 0.05
    done
    [ -n "$master" ] || { echo "ab.sh: nginx did not write its pid" >&2; return 1; }
    masters+=("$master")
    DIR[$v]=$p
    MASTER[$v]=$master
    for i in $(seq 200); do
        if curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$v]}/index.html" 2>/dev/null; then
            if [ "$v" != c ] && [ "$v" != e ] || grep -q 'JVM started in' "$p/logs/error.log"; then
                break
            fi
        fi
        sleep 0.1
    done
    if [ "$v" = c ] || [ "$v" = e ]; then
        grep -q 'JVM started in' "$p/logs/error.log" \
            || { echo "ab.sh: no JVM start in ($v):" >&2; cat "$p/logs/error.log" >&2; return 1; }
    fi
}

stop() {
    local m=${MASTER[$1]} i
    kill -TERM "$m"
    for i in $(seq 100); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$m" 2>/dev/null; then
        echo "ab.sh: nginx $m did not stop" >&2; return 1
    fi
}

# a scraper against variant $1 in the background, its figures into $2, a
# scrape every $3 (default 1) seconds
scrape_start() {
    taskset -c "$WRK_CPUS" python3 "$helper" scraper "http://127.0.0.1:${PORT[$1]}$SCRAPE" "$2" \
        "$SCRAPE_ENCODING" "${3:-1}" &
    scraper_pids+=($!)
}

# stop every scraper started
scrape_stop() {
    local m
    for m in "${scraper_pids[@]}"; do
        kill -TERM "$m"
        wait "$m" || true
    done
    scraper_pids=()
}

# one timed slice of variant $2 (mode $1, round $3): scraper and wrk against
# it while the other variants sit idle; append a result line
slice() {
    local mode=$1 v=$2 round=$3 p="${DIR[$2]}/slices/$3.$RANDOM" pss steal
    mkdir -p "$p"
    scrape_start "$v" "$p/scrape.txt"
    python3 "$helper" threads "${MASTER[$v]}" > "$p/threads.before"
    cp /proc/stat "$p/stat.before"
    taskset -c "$WRK_CPUS" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
        "http://127.0.0.1:${PORT[$v]}/index.html" > "$p/wrk.txt"
    cp /proc/stat "$p/stat.after"
    python3 "$helper" threads "${MASTER[$v]}" > "$p/threads.after"
    scrape_stop
    # the instance's memory: PSS of the master, the workers and the stats process
    pss=$(python3 "$helper" pss "${MASTER[$v]}" | awk '{s += $4} END {print s + 0}')
    steal=$(python3 "$helper" steal "$p/stat.before" "$p/stat.after" "$NGINX_CPUS,$WRK_CPUS")
    echo "$mode $v $round $(python3 "$helper" wrk "$p/wrk.txt") $pss $(cat "$p/scrape.txt") $steal" \
         "$(python3 "$helper" cpu "$p/threads.before" "$p/threads.after" "$p/wrk.txt")" >> "$round_results"
    printf '  %-5s round %2d (%s): %s, steal %s%%\n' "$mode" "$round" "$v" \
        "$(awk '/Requests\/sec/ {print $2 " req/s"}' "$p/wrk.txt"), p99 $(awk '$1 == "99%" {print $2}' "$p/wrk.txt")" "$steal" >&2
}

variants="a b c"
if [ "$PEER" = lua ]; then
    for f in /usr/lib/nginx/modules/ndk_http_module.so /usr/lib/nginx/modules/ngx_http_lua_module.so; do
        [ -e "$f" ] || { echo "ab.sh: --with-lua needs $f (apt-get install libnginx-mod-http-lua)" >&2; exit 1; }
    done
    variants="a b c d"
fi
if [ -n "$IDLE" ]; then
    variants="$variants e"
fi

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "ipng_stats whole-module A/B — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "host: $(nproc) cpus ($cpu), $(uname -sr), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), worker_processes $WORKERS on cpus $NGINX_CPUS;" \
     "wrk -t1 -c$CONNS --latency on cpus $WRK_CPUS, keep-alive, GET of a 612-byte static file"
echo "runs: per mode, ($variants) started side by side, ${WARMUP} s of wrk and scrapes on each, then $ROUNDS alternated rounds" \
     "($variants, rotated one place per round) of ${DURATION} s slices, the idle variants waiting; scrape: GET $SCRAPE" \
     "every 1 s of the variant under load (/status is stub_status in a, b), Accept-Encoding: $SCRAPE_ENCODING;" \
     "rounds where the hypervisor took more than $MAX_STEAL% of a cpu are done again; JVM: (c) started alone $JVM_STARTS times;" \
     "CPU: the whole instance (master, workers, stats process; every thread, schedstat)"
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

# repetition $2 of mode $1 with every variant loaded at once: one wrk and
# one scraper each, all nginx workers on the same cpus. The scheduler
# interleaves them in milliseconds, so the machine's changing speed falls on
# all of them alike: their CPU time per request compares well even where
# slices seconds apart differ by 20 %. (Their requests/s depend on the
# scheduler's shares, so only the CPU time per request is used.) Each
# variant is scraped every N seconds, N variants sharing the cpus: with
# about 1/N of a cpu each serves about 1/N of the requests, so it sees as
# many scrapes per request as a variant alone with a scrape every second.
together() {
    local mode=$1 rep=$2 v pids=() p n
    n=$(wc -w <<<"$variants")
    for v in $variants; do
        p="${DIR[$v]}/together/$rep"
        mkdir -p "$p"
        python3 "$helper" threads "${MASTER[$v]}" > "$p/threads.before"
    done
    for v in $variants; do
        scrape_start "$v" "${DIR[$v]}/together/$rep/scrape.txt" "$n"
    done
    for v in $variants; do
        taskset -c "$WRK_CPUS" wrk -t1 -c"$CONNS" -d"${TOGETHER_DURATION}s" \
            "http://127.0.0.1:${PORT[$v]}/index.html" > "${DIR[$v]}/together/$rep/wrk.txt" &
        pids+=($!)
    done
    wait "${pids[@]}"
    scrape_stop
    for v in $variants; do
        p="${DIR[$v]}/together/$rep"
        python3 "$helper" threads "${MASTER[$v]}" > "$p/threads.after"
        echo "#together $mode $v $rep $(python3 "$helper" cpu "$p/threads.before" "$p/threads.after" "$p/wrk.txt")" >> "$results"
    done
    printf '  %-5s side by side %d: done\n' "$mode" "$rep" >&2
}

# every variant of mode $1 idle for IDLE_SECONDS: what each instance spends
# whatever the traffic (timers; the stats process's drain thread and its
# malloc_trim, once a second each)
idle() {
    local mode=$1 v
    for v in $variants; do
        python3 "$helper" threads "${MASTER[$v]}" > "${DIR[$v]}/idle.before"
    done
    sleep "$IDLE_SECONDS"
    for v in $variants; do
        python3 "$helper" threads "${MASTER[$v]}" > "${DIR[$v]}/idle.after"
        echo "#idle $mode $v $IDLE_SECONDS $(python3 "$helper" idle "${DIR[$v]}/idle.before" "${DIR[$v]}/idle.after" "$IDLE_SECONDS")" >> "$results"
    done
}

# the ports of every variant: one for the timed traffic, four for the 12k keys
read -r -a ports <<<"$(python3 "$helper" ports $((5 * $(wc -w <<<"$variants"))))"
i=0
for v in $variants; do
    PORT[$v]=${ports[$i]}
    KPORTS[$v]="${ports[*]:$((i + 1)):4}"
    i=$((i + 5))
done

# the stats process's JVM: (c) started and stopped on its own; how many
# start (one per instance), start time, RSS added
for i in $(seq "$JVM_STARTS"); do
    start 1key c
    stop c
    grep 'JVM started in' "${DIR[c]}/logs/error.log" >> "$jvmlog" || true
    echo "#notices $(grep -c 'JVM started in' "${DIR[c]}/logs/error.log")" >> "$jvmlog"
done

for mode in $modes; do
    for v in $variants; do
        start "$mode" "$v"
    done
    if [ "$mode" = 12k ]; then
        for v in $variants; do
            taskset -c "$WRK_CPUS" python3 "$helper" populate ${KPORTS[$v]} > "${DIR[$v]}/populate.txt"
        done
    fi
    if [ "$WARMUP" != 0 ]; then            # (c)'s JIT, every variant's caches
        for v in $variants; do
            scrape_start "$v" "${DIR[$v]}/warmup-scrape.txt"
            taskset -c "$WRK_CPUS" wrk -t1 -c"$CONNS" -d"${WARMUP}s" \
                "http://127.0.0.1:${PORT[$v]}/index.html" > "${DIR[$v]}/warmup.txt"
            scrape_stop
        done
    fi
    r=1
    repeats=0
    while [ "$r" -le "$ROUNDS" ]; do
        : > "$round_results"
        for v in $(round_order "$r"); do
            slice "$mode" "$v" "$r"
        done
        # the round's worst steal; a repeated round's runs stay in the results, commented
        worst=$(awk '{print $14}' "$round_results" | sort -g | tail -n 1)
        if awk -v w="$worst" -v m="$MAX_STEAL" 'BEGIN { exit !(w > m) }' && [ "$repeats" -lt "$ROUNDS" ]; then
            repeats=$((repeats + 1))
            sed 's/^/#steal /' "$round_results" >> "$results"
            echo "  $mode round $r again: the hypervisor took $worst% of a cpu in one of its slices (--max-steal $MAX_STEAL)" >&2
            continue
        fi
        cat "$round_results" >> "$results"
        r=$((r + 1))
    done
    for i in $(seq "$TOGETHER"); do
        together "$mode" "$i"
    done
    echo "#keys $mode $(python3 "$helper" keys "http://127.0.0.1:${PORT[c]}/status")" >> "$results"
    echo "#dropped $mode $(python3 "$helper" metric "http://127.0.0.1:${PORT[c]}/status" \
        nginx_ipng_dropped_records_total)" >> "$results"
    idle "$mode"
    for v in $variants; do
        stop "$v"
    done
done

python3 "$helper" summary "$results" "$jvmlog" "$SMOKE" "$MAX_STEAL"
echo "(load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
