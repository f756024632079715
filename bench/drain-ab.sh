#!/usr/bin/env bash
# The Java core's drain, a git revision (A) against the working tree (B), in
# one JVM alternated 100 ms at a time (java/.../bench/DrainAb.java):
#   bench/drain-ab.sh HEAD~1              # 60 s of CoreBenchmark.drainBatch, the aggregation loop
#   bench/drain-ab.sh HEAD~1 120          # longer
#   bench/drain-ab.sh --ring HEAD~1       # CoreBenchmark.drainRing, the drain thread's whole pass
#                                         # (lock, transaction, journal, TAIL): revisions from
#                                         # 52742a7 on, where the stats process drains rings
#   bench/drain-ab.sh --smoke             # HEAD against itself, 2 s each: does it run?
# B/A below 1 means the working tree is faster. The JVM runs as the stats
# process's does (C2, -XX:+UseSerialGC); IPNG_JMH_JVM_ARGS as in jmh.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=drainBatch
if [ "${1:-}" = --ring ]; then
    bench=drainRing
    shift
fi
rev=${1:?usage: bench/drain-ab.sh [--ring] REV [SECONDS] | --smoke}
seconds=${2:-60}
smoke=0
if [ "$rev" = --smoke ]; then
    rev=HEAD
    seconds=2
    smoke=1
fi
cp="$(bench/jmh.sh classpath)"
deps=$(tr ':' '\n' <<<"$cp" | grep '\.jar$' | paste -sd:)
work=$(mktemp -d /tmp/ipng-drain-ab.XXXXXX)
trap 'git worktree remove --force "$work/a" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach -q "$work/a" "$rev"
mvn -q -B -o -f "$work/a/pom.xml" -pl java test-compile >&2 \
    || mvn -q -B -f "$work/a/pom.xml" -pl java test-compile >&2
a="$work/a/java/target/classes:$work/a/java/target/test-classes"
b="$PWD/java/target/classes:$PWD/java/target/test-classes"
run() {
    echo "A = $(git rev-parse --short "$rev"), B = working tree; $seconds s of $1"
    # shellcheck disable=SC2086
    java ${IPNG_JMH_JVM_ARGS--XX:+UseSerialGC} \
        -cp "$deps:$PWD/java/target/test-classes" ch.ipng.stats.bench.DrainAb "$seconds" "$a" "$b" "$1"
}
if [ "$smoke" = 1 ]; then
    run drainBatch
    run drainRing
else
    run "$bench"
fi
