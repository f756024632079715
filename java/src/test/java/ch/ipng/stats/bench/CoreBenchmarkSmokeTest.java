package ch.ipng.stats.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.format.Scrape;
import ch.ipng.stats.zone.SharedZone;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Keeps the benchmarks runnable: every benchmark runs once, in this JVM, for
 * a few milliseconds. No timing is asserted (figures come from bench/jmh.sh).
 */
class CoreBenchmarkSmokeTest {

    @Test
    void theReferenceWorkloadFillsTheZoneWithTwelveThousandKeys() throws Exception {
        SharedZone zone = CoreBenchmark.fullZone();
        assertEquals(12_000, zone.codesUsed());
        assertEquals(200, zone.seriesUsed());
        String text = new String(Scrape.render(zone, new ch.ipng.stats.format.BuildInfo("0", "0", "0"), null, null),
            StandardCharsets.UTF_8);
        assertEquals(12_000, text.lines().filter(l -> l.startsWith("nginx_ipng_requests_total{")).count());
    }

    @Test
    void theDrainLoopMeasuresWindows() {
        double[] w = DrainLoop.windows(0.05, 10_000_000L);
        assertTrue(w.length >= 1, "at least one window");
        for (int i = 0; i < w.length; i++) {
            assertTrue(w[i] > 0 && Double.isFinite(w[i]), "window " + i + ": " + w[i]);
            assertTrue(i == 0 || w[i - 1] <= w[i], "sorted");
        }
    }

    @Test
    void everyBenchmarkRuns() throws Exception {
        Collection<RunResult> results = new Runner(new OptionsBuilder()
            .include(CoreBenchmark.class.getName())
            .forks(0)
            .warmupIterations(0)
            .measurementIterations(1)
            .measurementTime(TimeValue.milliseconds(50))
            .shouldFailOnError(true)
            .verbosity(VerboseMode.SILENT)
            .build()).run();
        assertEquals(13, results.size());     // every @Benchmark method of CoreBenchmark
        for (RunResult r : results) {
            assertTrue(r.getPrimaryResult().getSampleCount() > 0, r.getParams().getBenchmark());
        }
    }
}
