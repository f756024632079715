#!/usr/bin/env bash
# The Java core's drain, a git revision (A) against the working tree (B), in
# one JVM alternated 100 ms at a time (java/.../bench/DrainAb.java):
#   bench/drain-ab.sh HEAD~1              # 60 s, the worker's JIT (C1)
#   bench/drain-ab.sh HEAD~1 120          # longer
#   bench/drain-ab.sh --smoke             # HEAD against itself, 2 s: does it run?
# B/A below 1 means the working tree is faster. IPNG_JMH_JVM_ARGS as in jmh.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/drain-ab.sh REV [SECONDS] | --smoke}
seconds=${2:-60}
if [ "$rev" = --smoke ]; then
    rev=HEAD
    seconds=2
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
echo "A = $(git rev-parse --short "$rev"), B = working tree; $seconds s"
# shellcheck disable=SC2086
exec java ${IPNG_JMH_JVM_ARGS--XX:TieredStopAtLevel=1 -XX:+UseSerialGC} \
    -cp "$deps:$PWD/java/target/test-classes" ch.ipng.stats.bench.DrainAb "$seconds" "$a" "$b"
