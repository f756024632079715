# Sourced by ab.sh, memory.sh and cost.sh: what each does the same way.

# stop_masters TENTHS PID...: every nginx master the script started and is
# still running gets TERM, up to TENTHS tenths of a second to exit, then
# KILL, with its children. Never a process the script did not start.
stop_masters() {
    local tenths=$1 m
    shift
    for m in "$@"; do
        if kill -0 "$m" 2>/dev/null; then
            kill -TERM "$m" 2>/dev/null || true
            for _ in $(seq "$tenths"); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
            pkill -KILL -P "$m" 2>/dev/null || true
            kill -KILL "$m" 2>/dev/null || true
        fi
    done
}

# bench_prefix DIR NAME [cds]: the module and jar copied into DIR (readable
# by the workers' user), with a class data archive for that copy when
# "cds" is given (it records its jar's path), and DIR/html/index.html, a
# 612-byte page like nginx's default one. NAME prefixes the messages.
bench_prefix() {
    local dir=$1 name=$2
    mkdir -p "$dir/html"
    cp "$MODULE" "$dir/ngx_http_ipng_stats_module.so"
    cp "$JAR" "$dir/ipng-stats.jar"
    chmod 644 "$dir/ngx_http_ipng_stats_module.so" "$dir/ipng-stats.jar"
    if [ "${3:-}" = cds ]; then
        bash "$root/scripts/cds-archive" "$dir/ipng-stats.jar" > /dev/null \
            || echo "$name: no class data archive for this jar, (c) starts without one" >&2
    fi
    python3 -c 'import sys; sys.stdout.write("<!DOCTYPE html>\n<html><head><title>bench</title></head><body>\n" + "x" * 544 + "\n</body></html>\n")' > "$dir/html/index.html"
}
