#!/usr/bin/env bash
# Runs the JMH benchmarks of the Java core (java/src/test/java/ch/ipng/stats/bench)
# with the test classpath. Arguments go to JMH, e.g.
#   bench/jmh.sh -f 1 -wi 3 -i 5 -prof gc          # the README figures
#   bench/jmh.sh -f 3 -wi 3 -i 5 -w 2s -r 3s -prof gc 'CoreBenchmark.drain(Ring|Batch)'   # the drain
#   bench/jmh.sh smoke                              # 1 fork, 1 short iteration: does it run?
#   bench/jmh.sh -f 1 -wi 3 -i 5 'CoreBenchmark.render.*'
#   bench/jmh.sh classpath                          # prints the classpath (compiles first)
# The forks run with the JIT and collector of the stats process's JVM (C1,
# -XX:TieredStopAtLevel=1 -XX:+UseSerialGC: ngx_http_ipng_stats_jvm.c), so
# the figures are the module's; IPNG_JMH_JVM_ARGS= (empty) gives the JDK's
# defaults (C2, G1), IPNG_JMH_JVM_ARGS="..." anything else (-XX:+UseSerialGC:
# C2, what -XX:TieredStopAtLevel=4 in ipng_stats_jvm_options gives).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -pl java test-compile >&2
cp_file=java/target/bench.classpath
mvn -q -B -pl java dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$PWD/$cp_file" >/dev/null
cp="$PWD/java/target/test-classes:$PWD/java/target/classes:$(cat "$cp_file")"
if [ "${1:-}" = classpath ]; then       # for a plain java command, e.g. ch.ipng.stats.bench.DrainLoop
    echo "$cp"
    exit 0
fi
if [ "${1:-}" = smoke ]; then
    shift
    set -- -f 1 -wi 0 -i 1 -r 200ms -w 200ms "$@"
fi
jvm_args=${IPNG_JMH_JVM_ARGS--XX:TieredStopAtLevel=1 -XX:+UseSerialGC}
if [ -n "$jvm_args" ]; then
    set -- -jvmArgsAppend "$jvm_args" "$@"
fi
exec java -cp "$cp" org.openjdk.jmh.Main "$@"
