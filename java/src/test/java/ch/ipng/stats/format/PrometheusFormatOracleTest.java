package ch.ipng.stats.format;

import static ch.ipng.stats.layout.ZoneDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.bench.CoreBenchmark;
import ch.ipng.stats.testing.TestAggregator;
import ch.ipng.stats.testing.TestRings;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.SharedZone;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * The hand-written writer against simpleclient_common's TextFormat fed the
 * same families ({@link SimpleclientOracle}): byte for byte, both formats,
 * on zones that exercise every family, escaping, big counts and 12,000 keys.
 */
class PrometheusFormatOracleTest {

    static final BuildInfo BUILD = new BuildInfo("0.1.0", "1.22.1", "17.0.15");

    static void assertSameAsSimpleclient(SharedZone zone, ScrapeFilter filter) throws IOException {
        for (boolean openMetrics : new boolean[] {false, true}) {
            ZoneSnapshot snapshot = ZoneSnapshot.read(zone, filter);
            ByteSink out = new ByteSink(16);
            PrometheusFormat.write(out, snapshot, BUILD, openMetrics);
            String expected = SimpleclientOracle.write(snapshot, BUILD, openMetrics);
            assertEquals(expected, out.toString(), openMetrics ? "OpenMetrics" : "0.0.4");
        }
    }

    @Test
    void smallZoneWithAndWithoutFilters() throws IOException {
        SharedZone z = PrometheusFormatTest.smallZone();
        assertSameAsSimpleclient(z, ScrapeFilter.NONE);
        assertSameAsSimpleclient(z, ScrapeFilter.parse("vip=2001:db8::1".getBytes()));
        assertSameAsSimpleclient(z, ScrapeFilter.parse("source_tag=nope".getBytes()));
    }

    @Test
    void workerAndScrapeSelfMetrics() throws IOException {
        SharedZone z = TestZones.zone(PrometheusFormatTest.LENGTH);
        for (int w : new int[] {0, 3, 7}) {
            TestRings.flushes(z, w, 2);
        }
        z.recordScrape(2_000_000);
        z.recordScrape(70_000_000_000L);
        z.add(DROPPED_RECORDS_OFFSET, 12_345);
        z.tick(1_700_000_000L);
        z.tick(1_700_000_003L);
        assertSameAsSimpleclient(z, ScrapeFilter.NONE);
    }

    @Test
    void escapedAndNonAsciiTags() throws IOException {
        SharedZone z = TestZones.zone(PrometheusFormatTest.LENGTH);
        String[] tags = {"a\"b\\c\nd é", "\u20ac\ud83d\ude00", "lone\ud800x", "\\\\\"\"", "plain"};
        int[] ids = new int[tags.length];
        for (int i = 0; i < tags.length; i++) {
            ids[i] = z.internTag(tags[i]);
        }
        TestAggregator a = new TestAggregator(z, ids);
        for (int i = 0; i < tags.length; i++) {
            a.add(i, 6, 0x20010db8L << 32, i, 200 + i, 1, 1, 1, i % 2 == 0, 7);
            a.add(i, 0, 0, 0, 500, 1, 1, 1, false, 0);
        }
        a.flush();
        assertSameAsSimpleclient(z, ScrapeFilter.NONE);
    }

    @Test
    void countsAroundTheFormatBoundaries() throws IOException {
        SharedZone z = TestZones.zone(PrometheusFormatTest.LENGTH);
        TestAggregator a = new TestAggregator(z, new int[] {z.internTag("big")});
        long[] values = {0, 9_999_999, 10_000_000, 12_345_678_901L, 100_000_000_000_000L,
            (1L << 53) - 1, 1L << 53, (1L << 53) + 1, 123_456_789_012_345_678L};
        for (int i = 0; i < values.length; i++) {
            a.add(0, 4, 0, i, 200, values[i], values[values.length - 1 - i], values[i] % 100_000, true, i);
        }
        a.flush();
        assertSameAsSimpleclient(z, ScrapeFilter.NONE);
    }

    @Test
    void statusClasses() throws IOException {
        ByteBuffer b = TestZones.buffer(PrometheusFormatTest.LENGTH, PrometheusFormatTest.SHM,
            STATUS_MODE_CLASSES, TestZones.DEFAULT_BOUNDS);
        SharedZone z = TestZones.open(b);
        TestAggregator a = new TestAggregator(z, new int[] {z.internTag("c")});
        for (int status : new int[] {101, 204, 302, 404, 418, 503}) {
            a.add(0, 4, 0, 1, status, 10, 20, status % 97, false, 0);
        }
        a.flush();
        assertSameAsSimpleclient(z, ScrapeFilter.NONE);
    }

    @Test
    void contentTypesAreTextFormats() {
        assertEquals(io.prometheus.client.exporter.common.TextFormat.CONTENT_TYPE_004, Scrape.CONTENT_TYPE_004);
        assertEquals(io.prometheus.client.exporter.common.TextFormat.CONTENT_TYPE_OPENMETRICS_100,
            Scrape.CONTENT_TYPE_OPENMETRICS);
    }

    @Test
    void twelveThousandKeys() throws IOException {
        assertSameAsSimpleclient(CoreBenchmark.fullZone(), ScrapeFilter.NONE);
    }
}
