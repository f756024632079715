package ch.ipng.stats.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.bench.CoreBenchmark;
import ch.ipng.stats.testing.TestAggregator;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.SharedZone;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * Compressed answers that reuse the segments of the last one: after any
 * change to the zone, the answer decompresses to exactly what a fresh plain
 * render of the zone gives, and segments whose counts did not change are
 * spliced rather than deflated again.
 */
class SegmentCacheTest {

    private static final byte[] GZIP = "gzip".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OPENMETRICS = "application/openmetrics-text".getBytes(StandardCharsets.US_ASCII);

    private static int crc(byte[] b, int from, int to) {
        CRC32 c = new CRC32();
        c.update(b, from, to - from);
        return (int) c.getValue();
    }

    @Test
    void combinedCrcsAreTheCrcOfTheWhole() {
        Random random = new Random(7);
        byte[] b = new byte[200_000];
        random.nextBytes(b);
        int[] cuts = {0, 1, 2, 3, 4, 7, 8, 100, 4096, 65_537, 199_999, 200_000};
        for (int from : cuts) {
            for (int to : cuts) {
                if (to < from) {
                    continue;
                }
                int a = crc(b, 0, from);
                int c = Gzip.crc32Combine(a, crc(b, from, to), to - from);
                assertEquals(crc(b, 0, to), c, from + ".." + to);
            }
        }
    }

    /** What C receives: every chunk the render hands over, appended. */
    private static final class Collector implements ByteSink.Overflow {
        final ByteArrayOutputStream got = new ByteArrayOutputStream();

        @Override
        public void take(byte[] b, int len) {
            got.write(b, 0, len);
        }
    }

    private static byte[] gunzip(byte[] b, int from) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(b, from, b.length - from))) {
            return in.readAllBytes();
        }
    }

    @Test
    void segmentsCutFromOneMemberAreValidInAnother() throws IOException {
        byte[] a = "first segment\n".repeat(500).getBytes(StandardCharsets.US_ASCII);
        byte[] b = "the second one, different\n".repeat(300).getBytes(StandardCharsets.US_ASCII);
        byte[] c = "text deflated around the splices\n".repeat(200).getBytes(StandardCharsets.US_ASCII);
        Gzip first = new Gzip(new Collector(), 4096);
        first.take(c, c.length);            // something before, as in an answer
        first.cut();
        first.capture();
        first.take(a, a.length);
        Gzip.Segment sa = first.cut();
        first.capture();
        first.take(b, b.length);
        Gzip.Segment sb = first.cut();
        first.finish();
        assertEquals(a.length, sa.length);
        assertEquals(crc(a, 0, a.length), sa.crc);

        // another member: spliced segments between deflated text, in another order, one twice
        Collector out = new Collector();
        Gzip second = new Gzip(out, 100);
        second.take(c, 10);
        second.cut();
        second.splice(sb);
        second.splice(sa);
        second.take(c, c.length);
        assertThrows(IllegalStateException.class, () -> second.splice(sa), "a splice needs a cut before it");
        second.cut();
        second.splice(sb);
        second.finish();
        ByteArrayOutputStream want = new ByteArrayOutputStream();
        want.write(c, 0, 10);
        want.write(b);
        want.write(a);
        want.write(c);
        want.write(b);
        assertArrayEquals(want.toByteArray(), gunzip(out.got.toByteArray(), 0));
    }

    /** A render thread's scrapes: one sink, one cache, compressed answers checked against plain renders. */
    private static final class Scraper {
        final SegmentCache cache = new SegmentCache();
        final ByteSink out = new ByteSink(1 << 16);
        final SharedZone zone;

        Scraper(SharedZone zone) {
            this.zone = zone;
        }

        /** One scrape; asserts its body is the fresh plain render's; returns the segments deflated anew. */
        long scrape(byte[] accept, byte[] query) throws IOException {
            long before = cache.deflated();
            Collector c = new Collector();
            out.overflowTo(c);
            Scrape.render(out, cache, zone, 0, PrometheusFormatTest.BUILD, query, accept, GZIP);
            out.finish();
            byte[] answer = c.got.toByteArray();
            int head = indexOf(answer, (byte) '\n');
            byte[] plain = Scrape.render(zone, PrometheusFormatTest.BUILD, query, accept);
            int plainHead = indexOf(plain, (byte) '\n');
            assertArrayEquals(Arrays.copyOfRange(plain, plainHead + 1, plain.length), gunzip(answer, head + 1));
            return cache.deflated() - before;
        }

        long scrape() throws IOException {
            return scrape(null, null);
        }
    }

    private static int indexOf(byte[] b, byte c) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        throw new AssertionError("no head line");
    }

    /** Adds one request to key {@code k} of the 12,000-key zone (or a new key, k >= 12,000). */
    private static void request(TestAggregator a, int k, long upstreamMs) {
        ByteBuffer r = TestZones.records(1);
        int source = k % 4;
        int v = k / 4 % 50;
        int code = 100 + (k / 200) * 8;
        String vip = v % 2 == 0 ? "192.0.2." + (v / 2 + 1) : "2001:db8::" + Integer.toHexString(v / 2 + 1);
        TestZones.record(r, 0, source, vip, code, 100, 1000, 7, upstreamMs);
        a.drain(r, 1);
        a.flush();
    }

    private static TestAggregator aggregator(SharedZone zone) {
        int[] tags = new int[4];
        String[] names = {"mg1", "mg2", "mg3", "direct"};
        for (int i = 0; i < tags.length; i++) {
            tags[i] = zone.internTag(names[i]);
        }
        return new TestAggregator(zone, tags);
    }

    @Test
    void unchangedSegmentsAreSplicedAndAnswersStayExact() throws IOException {
        SharedZone zone = CoreBenchmark.fullZone();
        TestAggregator a = aggregator(zone);
        Scraper s = new Scraper(zone);
        long all = s.scrape();
        assertTrue(all > 100, "12,000 keys in " + all + " segments");
        assertEquals(0, s.scrape(), "nothing changed: nothing deflated");

        request(a, 4321, -1);
        // one key: its segment in each of the three code families and its duration histogram's
        assertEquals(4, s.scrape());
        request(a, 4321, 12);
        assertEquals(5, s.scrape(), "and its upstream histogram's");
        zone.tick(1_700_000_100L);
        assertTrue(s.scrape() > 0, "rates moved");

        // OpenMetrics, then 0.0.4 again: another format renders everything
        assertEquals(all, s.scrape(OPENMETRICS, null));
        assertEquals(0, s.scrape(OPENMETRICS, null));
        assertEquals(all, s.scrape());
        // a filtered scrape does not use the cache, nor disturb it
        s.scrape(null, "vip=192.0.2.7".getBytes(StandardCharsets.US_ASCII));
        assertEquals(0, s.scrape());

        // a new key: the keys are not the same any more, everything is rendered once
        request(a, 12_000 + 4321, -1);
        assertTrue(s.scrape() >= all);
        assertEquals(0, s.scrape());
    }

    @Test
    void randomChangesNeverLeaveAStaleLine() throws IOException {
        SharedZone zone = CoreBenchmark.fullZone();
        TestAggregator a = aggregator(zone);
        Scraper s = new Scraper(zone);
        Random random = new Random(11);
        long now = 1_700_000_200L;
        long spliced = 0;
        for (int round = 0; round < 40; round++) {
            int changes = random.nextInt(4) == 0 ? random.nextInt(300) : random.nextInt(3);
            for (int i = 0; i < changes; i++) {
                int k = random.nextInt(50) == 0 ? 12_000 + random.nextInt(2_000) : random.nextInt(12_000);
                request(a, k, random.nextBoolean() ? -1 : random.nextInt(5000));
            }
            if (random.nextInt(5) == 0) {
                zone.tick(now++);
            }
            s.scrape(random.nextInt(6) == 0 ? OPENMETRICS : null, null);
            spliced = s.cache.spliced();
        }
        assertTrue(spliced > 0, "segments were reused");
    }

    @Test
    void aRenderThatFailsHalfWayLeavesNothingStale() throws IOException {
        SharedZone zone = CoreBenchmark.fullZone();
        TestAggregator a = aggregator(zone);
        Scraper s = new Scraper(zone);
        s.scrape();
        for (int k = 0; k < 12_000; k += 7) {
            request(a, k, -1);
        }
        int[] chunks = {0};
        s.out.overflowTo((b, len) -> {
            if (++chunks[0] == 2) {             // the head went, the first compressed chunk fails
                throw new IllegalStateException("no memory for the answer");
            }
        });
        assertThrows(IllegalStateException.class, () -> {
            Scrape.render(s.out, s.cache, zone, 0, PrometheusFormatTest.BUILD, null, null, GZIP);
            s.out.finish();
        });
        s.out.reset();
        for (int k = 1; k < 12_000; k += 5) {
            request(a, k, 3);
        }
        s.scrape();
        assertEquals(0, s.scrape());
    }
}
