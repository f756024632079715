package ch.ipng.stats.aggregate;

import static ch.ipng.stats.layout.RecordDescriptor.FLAGS_OFFSET;
import static ch.ipng.stats.layout.RecordDescriptor.FLAG_IFINDEX_MISS;
import static ch.ipng.stats.layout.RecordDescriptor.FLAG_UPSTREAM;
import static ch.ipng.stats.layout.RecordDescriptor.RECORD_LENGTH;

import static ch.ipng.stats.layout.ZoneDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.format.ScrapeFilter;
import ch.ipng.stats.format.ZoneSnapshot;
import ch.ipng.stats.testing.TestAggregator;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.Journal;
import ch.ipng.stats.zone.SharedZone;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class AggregatorTest {

    private static TestAggregator aggregator(SharedZone z, String... tags) {
        return TestAggregator.of(z, tags);
    }

    private static ZoneSnapshot.Series only(SharedZone z, String tag, String vip) {
        for (ZoneSnapshot.Series s : ZoneSnapshot.read(z, ScrapeFilter.NONE).series) {
            if (s.tag.equals(tag) && s.vip.equals(vip)) {
                return s;
            }
        }
        return fail("no series " + tag + " " + vip);
    }

    private static ZoneSnapshot.Code code(ZoneSnapshot.Series s, String text) {
        return s.codes().stream().filter(c -> c.text.equals(text)).findFirst().orElseThrow();
    }

    @Test
    void countsIfindexMissesIntoTheZoneOnFlush() {
        SharedZone z = TestZones.zone(1 << 20);
        TestAggregator a = aggregator(z, "direct");
        ByteBuffer r = TestZones.records(3);
        for (int i = 0; i < 3; i++) {
            TestZones.record(r, i, 0, "192.0.2.10", 200, 1, 1, 1, i == 1 ? 4 : -1);
        }
        r.put(FLAGS_OFFSET, (byte) FLAG_IFINDEX_MISS);
        r.put(RECORD_LENGTH + FLAGS_OFFSET, (byte) (FLAG_IFINDEX_MISS | FLAG_UPSTREAM));
        a.drain(r, 3);
        assertEquals(0, z.ifindexMisses(), "nothing reaches the zone before a flush");
        a.flush();
        assertEquals(2, z.ifindexMisses());
        assertEquals(1, only(z, "direct", "192.0.2.10").upstream.count(), "other flags still read");
        a.flush();
        assertEquals(2, z.ifindexMisses(), "a flush adds each miss once");
    }

    @Test
    void drainDecodesRecordsAsAddTakesThem() throws Exception {
        // drain reads a batch as longs and shifts the fields out (Aggregator's
        // comment says why), add() packs its arguments into the same words:
        // every field, both families, all flags, as C lays them out against add()
        SharedZone drained = TestZones.zone(1 << 20);
        SharedZone added = TestZones.zone(1 << 20);
        TestAggregator d = aggregator(drained, "t0", "t1", "t2");
        TestAggregator a = aggregator(added, "t0", "t1", "t2");
        java.util.Random rnd = new java.util.Random(7);
        int n = 256;
        ByteBuffer r = TestZones.records(n);
        for (int i = 0; i < n; i++) {
            String vip = i % 3 == 0 ? "2001:db8::" + Integer.toHexString(rnd.nextInt(40) + 1)
                : "198.51.100." + rnd.nextInt(40);
            int source = rnd.nextInt(3);
            int status = 100 + rnd.nextInt(500);
            long in = rnd.nextLong() >>> 24;
            long out = rnd.nextLong() >>> 24;
            long ms = rnd.nextInt(100_000);
            long up = i % 4 == 0 ? -1 : rnd.nextInt(100_000);
            TestZones.record(r, i, source, vip, status, in, out, ms, up);
            ch.ipng.stats.format.Vip v = ch.ipng.stats.format.Vip.parse(vip);
            a.add(source, v.family, v.hi, v.lo, status, in, out, ms, up >= 0, Math.max(up, 0));
        }
        d.drain(r, n);
        d.flush();
        a.flush();
        byte[] want = ch.ipng.stats.format.Scrape.render(added, ch.ipng.stats.format.BuildInfo.of("t"), null, null);
        byte[] got = ch.ipng.stats.format.Scrape.render(drained, ch.ipng.stats.format.BuildInfo.of("t"), null, null);
        assertTrue(added.codesUsed() > 200, "the batch spread over many keys: " + added.codesUsed());
        assertEquals(perKeyLines(want), perKeyLines(got));
    }

    /** The lines of a scrape that carry a VIP (not the worker's own timings). */
    private static List<String> perKeyLines(byte[] scrape) {
        return new String(scrape, java.nio.charset.StandardCharsets.UTF_8).lines()
            .filter(l -> l.contains("vip=\"")).toList();
    }

    @Test
    void countsEveryRecordOnce() {
        SharedZone z = TestZones.zone(1 << 20);
        TestAggregator a = aggregator(z, "direct", "mg1");
        ByteBuffer r = TestZones.records(4);
        TestZones.record(r, 0, 1, "192.0.2.10", 200, 100, 1000, 3, -1);
        TestZones.record(r, 1, 1, "192.0.2.10", 200, 200, 2000, 7, 6);
        TestZones.record(r, 2, 1, "192.0.2.10", 404, 50, 300, 70000, -1);
        TestZones.record(r, 3, 0, "2001:db8::1", 200, 10, 20, 5, -1);
        a.drain(r, 4);
        assertEquals(0, z.codesUsed(), "nothing reaches the zone before a flush");
        a.flush();
        a.flush();
        ZoneSnapshot.Series v4 = only(z, "mg1", "192.0.2.10");
        assertEquals(2, code(v4, "200").requests);
        assertEquals(300, code(v4, "200").bytesIn);
        assertEquals(3000, code(v4, "200").bytesOut);
        assertEquals(1, code(v4, "404").requests);
        assertEquals(3, v4.duration.count());
        assertEquals(3 + 7 + 70000, v4.duration.sumMs);
        assertEquals(1, v4.upstream.count());
        assertEquals(6, v4.upstream.sumMs);
        ZoneSnapshot.Series v6 = only(z, "direct", "2001:db8::1");
        assertEquals(1, code(v6, "200").requests);
        assertEquals(0, v6.upstream.count());
        r.clear();
        a.drain(r, 1);
        a.flush();
        assertEquals(3, code(only(z, "mg1", "192.0.2.10"), "200").requests);
    }

    /**
     * A flush visits only the entries that changed since the last one: with
     * 600 keys known and a few busy per round (some in every round, some
     * once, one round with none), the zone still ends at exactly what was
     * sent, key by key, after every flush.
     */
    @Test
    void eachFlushAddsExactlyWhatChangedSinceTheLast() {
        SharedZone z = TestZones.zone(1 << 20);
        TestAggregator a = aggregator(z, "direct", "mg1");
        int vips = 30;
        int[] statuses = {200, 204, 301, 302, 304, 400, 403, 404, 500, 503};
        long[][] want = new long[2 * vips * statuses.length][3];   // requests, bytes in, bytes out
        long[][] hist = new long[2 * vips][3];                     // count, sum ms, upstream count
        java.util.Random rnd = new java.util.Random(7);
        ByteBuffer r = TestZones.records(600);
        for (int round = 0; round < 12; round++) {
            int n = round == 0 ? 600 : round == 5 ? 0 : 1 + rnd.nextInt(20);
            for (int i = 0; i < n; i++) {
                // round 0: every key once; later: key 0 always, the rest at random
                int k = round == 0 ? i : i == 0 ? 0 : rnd.nextInt(want.length);
                int src = k % 2;
                int v = k / 2 % vips;
                int st = k / (2 * vips);
                long in = 1 + rnd.nextInt(500);
                long out = 1 + rnd.nextInt(5000);
                long ms = rnd.nextInt(6000);
                long up = rnd.nextBoolean() ? rnd.nextInt(100) : -1;
                TestZones.record(r, i, src, "192.0.2." + (v + 1), statuses[st], in, out, ms, up);
                want[k][0]++;
                want[k][1] += in;
                want[k][2] += out;
                int series = src * vips + v;
                hist[series][0]++;
                hist[series][1] += ms;
                hist[series][2] += up >= 0 ? 1 : 0;
            }
            a.drain(r, n);
            a.flush();
            java.util.Map<String, ZoneSnapshot.Series> read = new java.util.HashMap<>();
            for (ZoneSnapshot.Series s : ZoneSnapshot.read(z, ScrapeFilter.NONE).series) {
                read.put(s.tag + " " + s.vip, s);
            }
            for (int k = 0; k < want.length; k++) {
                ZoneSnapshot.Series s = read.get((k % 2 == 0 ? "direct" : "mg1") + " 192.0.2." + (k / 2 % vips + 1));
                ZoneSnapshot.Code c = code(s, Integer.toString(statuses[k / (2 * vips)]));
                String what = "round " + round + ", key " + k;
                assertEquals(want[k][0], c.requests, what);
                assertEquals(want[k][1], c.bytesIn, what);
                assertEquals(want[k][2], c.bytesOut, what);
                int series = k % 2 * vips + k / 2 % vips;
                assertEquals(hist[series][0], s.duration.count(), what);
                assertEquals(hist[series][1], s.duration.sumMs, what);
                assertEquals(hist[series][2], s.upstream.count(), what);
            }
        }
    }

    @Test
    void durationLandsInTheFirstBucketWhoseBoundIsAtLeastTheValue() {
        SharedZone z = TestZones.open(TestZones.buffer(1 << 20, 1 << 20, STATUS_MODE_EXACT, 5, 50));
        TestAggregator a = aggregator(z, "t");
        long[] values = {0, 5, 6, 50, 51, Long.MAX_VALUE / 2};
        for (long v : values) {
            a.add(0, 4, 1, 0, 200, 0, 0, v, true, v);
        }
        a.flush();
        ZoneSnapshot.Series s = ZoneSnapshot.read(z, ScrapeFilter.NONE).series.get(0);
        assertArrayEquals(new long[] {2, 4, 6}, s.duration.cumulative);
        assertArrayEquals(new long[] {2, 4, 6}, s.upstream.cumulative);
    }

    @Test
    void durationsAroundTheBucketTablesEndLandAsBelowIt() {
        // Aggregator looks the bucket of a duration below 4096 ms up in a
        // table and searches the bounds for longer ones: bounds on both sides
        SharedZone z = TestZones.open(TestZones.buffer(1 << 20, 1 << 20, STATUS_MODE_EXACT, 4095, 4096, 5000));
        TestAggregator a = aggregator(z, "t");
        long[] values = {4094, 4095, 4096, 4097, 5000, 5001, 1L << 40};
        for (long v : values) {
            a.add(0, 4, 1, 0, 200, 0, 0, v, true, v);
        }
        a.flush();
        ZoneSnapshot.Series s = ZoneSnapshot.read(z, ScrapeFilter.NONE).series.get(0);
        assertArrayEquals(new long[] {2, 3, 5, 7}, s.duration.cumulative);
        assertArrayEquals(new long[] {2, 3, 5, 7}, s.upstream.cumulative);
    }

    @Test
    void upstreamHistogramOnlyCountsProxiedRequests() {
        SharedZone z = TestZones.zone(1 << 20);
        TestAggregator a = aggregator(z, "t");
        a.add(0, 4, 1, 0, 200, 0, 0, 3, false, 0);
        a.add(0, 4, 1, 0, 200, 0, 0, 3, true, 2);
        a.flush();
        ZoneSnapshot.Series s = ZoneSnapshot.read(z, ScrapeFilter.NONE).series.get(0);
        assertEquals(2, s.duration.count());
        assertEquals(1, s.upstream.count());
    }

    @Test
    void classModeStoresStatusClasses() {
        SharedZone z = TestZones.open(TestZones.buffer(1 << 20, 1 << 20, STATUS_MODE_CLASSES,
            TestZones.DEFAULT_BOUNDS));
        TestAggregator a = aggregator(z, "t");
        for (int status : new int[] {200, 204, 301, 404, 499, 503}) {
            a.add(0, 4, 1, 0, status, 0, 0, 1, false, 0);
        }
        a.flush();
        ZoneSnapshot.Series s = ZoneSnapshot.read(z, ScrapeFilter.NONE).series.get(0);
        assertEquals(List.of("2xx", "3xx", "4xx", "5xx"), s.codes().stream().map(c -> c.text).toList());
        assertEquals(2, code(s, "4xx").requests);
    }

    /**
     * A record finds its counters by the whole key in one probe: keys that
     * share tag and status but differ in the address (or share everything but
     * the tag or family) crowd a 16-slot table and must never share a counter.
     */
    @Test
    void keysThatDifferOnlyInAddressTagOrFamilyNeverShareCounters() {
        SharedZone z = TestZones.zone(1 << 20);
        TestAggregator a = new TestAggregator(z, new int[] {z.internTag("a"), z.internTag("b")}, 16, 16);
        String[] vips = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "198.51.100.1",
            "2001:db8::1", "2001:db8::2", "c000:201::", "0.0.0.1", "::1"};    // c000:201:: is 192.0.2.1's bytes
        ByteBuffer r = TestZones.records(1);
        for (int round = 0; round < 3; round++) {
            for (int v = 0; v < vips.length; v++) {
                for (int source = 0; source < 2; source++) {
                    for (int n = 0; n <= v + 10 * source; n++) {
                        TestZones.record(r, 0, source, vips[v], 200, 1, 1, 1, -1);
                        a.drain(r, 1);
                    }
                }
            }
        }
        a.flush();
        for (int v = 0; v < vips.length; v++) {
            for (int source = 0; source < 2; source++) {
                ZoneSnapshot.Series s = only(z, source == 0 ? "a" : "b", vips[v]);
                assertEquals(3L * (v + 1 + 10 * source), code(s, "200").requests, vips[v] + " source " + source);
            }
        }
    }

    @Test
    void recordsOfUnknownSourcesAreDroppedNotMiscounted() {
        SharedZone z = TestZones.zone(1 << 20);
        TestAggregator a = aggregator(z, "t");
        ByteBuffer r = TestZones.records(2);
        TestZones.record(r, 0, 7, "192.0.2.1", 200, 1, 1, 1, -1);
        TestZones.record(r, 1, -1, "192.0.2.1", 200, 1, 1, 1, -1);
        a.drain(r, 2);
        a.flush();
        assertEquals(2, a.aggregator.droppedRecords());
        assertEquals(0, z.codesUsed());
    }

    /**
     * A private table's probe never ends once it is full, and a transaction
     * must fit its journal: drain takes no more records than both allow,
     * counting each as a new key, and says how many it took.
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void drainTakesNoMoreThanTheTablesHoldAndSaysHowMany() {
        SharedZone z = TestZones.zone(1 << 20);
        Journal j = TestZones.journal(z);
        Aggregator a = new Aggregator(z, new int[] {z.internTag("t")}, j, 16, 64);
        int n = 1000;
        ByteBuffer r = TestZones.records(n);
        java.util.Map<String, Integer> want = new java.util.TreeMap<>();
        for (int i = 0; i < n; i++) {
            String vip = "192.0.2." + (i % 40 + 1);
            int status = 200 + i % 7;
            TestZones.record(r, i, 0, vip, status, 1, 1, i % 300, -1);
            want.merge(vip + " " + status, 1, Integer::sum);
        }
        assertEquals(12, a.drain(r, 0, n, j.free()), "3/4 of 16 series entries, each record a new one");
        assertEquals(0, a.room(j.free()));
        assertEquals(0, z.seriesUsed(), "nothing reaches the zone before a flush");
        int transactions = 1;
        for (int done = 12; done < n; transactions++) {
            a.flush();
            j.commit();
            int took = a.drain(r, done * RECORD_LENGTH, n - done, j.free());
            assertTrue(took > 0, "a flush of full tables forgets their keys");
            done += took;
        }
        a.flush();
        j.commit();
        assertTrue(transactions > 40, transactions + " transactions");
        java.util.Map<String, Integer> got = new java.util.TreeMap<>();
        for (ZoneSnapshot.Series s : ZoneSnapshot.read(z, ScrapeFilter.NONE).series) {
            for (ZoneSnapshot.Code c : s.codes()) {
                got.put(s.vip + " " + c.status, (int) c.requests);
            }
            assertEquals(s.duration.count(), s.codes().stream().mapToLong(c -> c.requests).sum(), s.vip);
        }
        assertEquals(want, got);
    }

    @Test
    void drainLeavesRoomInTheJournalForItsFlush() {
        SharedZone z = TestZones.zone(1 << 20);
        Journal j = TestZones.journal(z);
        Aggregator a = new Aggregator(z, new int[] {z.internTag("t")}, j);
        int perRecord = a.storesPerRecord();
        assertEquals(3 + 2 * (12 + 3), perRecord, "a code's three counters, two histograms of 12 buckets");
        int n = 200;
        ByteBuffer r = TestZones.records(n);
        for (int i = 0; i < n; i++) {
            TestZones.record(r, i, 0, "2001:db8::" + Integer.toHexString(i + 1), 200 + i % 3, 1, 1, i, i);
        }
        int entries = 10 * perRecord + 1;
        assertEquals(10, a.drain(r, 0, n, entries), "10 new keys, and the ifindex misses");
        int before = j.free();
        a.flush();
        assertTrue(before - j.free() <= entries, (before - j.free()) + " entries used");
        j.commit();
        // the same keys again: with room for one more, run after run of one
        // record each, as a known key's stores are counted already
        ByteBuffer same = TestZones.records(n);
        for (int i = 0; i < n; i++) {
            TestZones.record(same, i, 0, "2001:db8::" + Integer.toHexString(i % 10 + 1), 200 + i % 10 % 3, 1, 1, 5, 5);
        }
        assertEquals(10, a.drain(same, 0, n, entries), "no room for an 11th new key");
        a.flush();
        j.commit();
        assertEquals(n - 10, a.drain(same, 10 * RECORD_LENGTH, n - 10, entries + perRecord));
        a.flush();
        j.commit();
        assertEquals(10 + n, ZoneSnapshot.read(z, ScrapeFilter.NONE).series.stream()
            .mapToLong(s -> s.duration.count()).sum());
    }

    /** A transaction that failed is rolled back; its records come again and must count once. */
    @Test
    void discardForgetsEveryDeltaOfAFailedTransaction() {
        SharedZone z = TestZones.zone(1 << 20);
        Journal j = TestZones.journal(z);
        Aggregator a = new Aggregator(z, new int[] {z.internTag("t")}, j, 16, 64);
        ByteBuffer r = TestZones.records(8);
        for (int i = 0; i < 8; i++) {
            TestZones.record(r, i, 0, "192.0.2." + (i % 3 + 1), 200, 10, 20, 7, i % 2 == 0 ? 3 : -1);
        }
        r.put(FLAGS_OFFSET, (byte) (r.get(FLAGS_OFFSET) | FLAG_IFINDEX_MISS));
        assertEquals(8, a.drain(r, 0, 8, j.free()));
        a.discard();
        a.flush();
        j.commit();
        assertEquals(0, z.ifindexMisses());
        assertEquals(0, ZoneSnapshot.read(z, ScrapeFilter.NONE).series.stream()
            .mapToLong(s -> s.duration.count()).sum(), "nothing left to flush");
        assertEquals(8, a.drain(r, 0, 8, j.free()));
        a.flush();
        j.commit();
        assertEquals(1, z.ifindexMisses());
        ZoneSnapshot.Series s = only(z, "t", "192.0.2.1");
        assertEquals(3, code(s, "200").requests);
        assertEquals(30, code(s, "200").bytesIn);
        assertEquals(2, s.upstream.count());
    }

    @Test
    void fullZoneDropsNewKeysButKeepsCountingOldOnes() {
        SharedZone z = TestZones.zone(128 * 1024);
        TestAggregator a = aggregator(z, "t");
        long limit = z.geometry().seriesLimit;
        for (int i = 0; i < limit; i++) {
            a.add(0, 6, i + 1, 7, 200, 0, 0, 1, false, 0);
        }
        a.flush();
        assertEquals(0, z.zoneFullEvents());
        a.add(0, 6, 1, 7, 200, 0, 0, 1, false, 0);
        a.add(0, 6, 999_999, 7, 200, 0, 0, 1, false, 0);
        a.add(0, 6, 999_999, 7, 500, 0, 0, 1, false, 0);
        a.flush();
        assertEquals(1, z.zoneFullEvents(), "one new series dropped once, its codes with it");
        long total = ZoneSnapshot.read(z, ScrapeFilter.NONE).series.stream().mapToLong(s -> s.duration.count()).sum();
        assertEquals(limit + 1, total);
    }

    @Test
    void fourMebibyteZoneHoldsTwelveThousandKeysWithoutFullEvents() {
        for (int length : new int[] {4 << 20, (4 << 20) - 64 * 1024}) {
            SharedZone z = TestZones.zone(length);
            String[] tags = {"mg1", "mg2", "mg3", "direct"};
            TestAggregator a = aggregator(z, tags);
            for (int src = 0; src < 4; src++) {
                for (int vip = 0; vip < 50; vip++) {
                    for (int code = 0; code < 60; code++) {
                        a.add(src, vip % 2 == 0 ? 4 : 6, 0x0a000000L + vip, vip % 2 == 0 ? 0 : 99,
                            100 + code * 7, 1, 1, code, false, 0);
                    }
                }
                a.flush();
            }
            assertEquals(0, z.zoneFullEvents(), "zone of " + length + " bytes");
            assertEquals(200, z.seriesUsed());
            assertEquals(12_000, z.codesUsed());
            assertTrue(z.bytesUsed() < length / 4, "bytes used " + z.bytesUsed());
        }
    }
}
