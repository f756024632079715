package ch.ipng.stats.format;

import static org.junit.jupiter.api.Assertions.*;

import static ch.ipng.stats.layout.ZoneDescriptor.SERIES_ADDR_HI_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.SERIES_USED_OFFSET;

import ch.ipng.stats.testing.TestAggregator;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.SharedZone;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class ZoneSnapshotTest {

    private static final String[] TAGS = {"mg1", "mg2", "direct"};

    /**
     * Random keys, claimed in random order: every series lists exactly the
     * codes its records had, by status, with their sums (expected values
     * summed here from the records, not by the code under test), and the
     * series come by tag, then IPv4 before IPv6, then address.
     */
    @Test
    void everySeriesHoldsItsOwnCodesByStatus() {
        SharedZone z = TestZones.zone(1 << 20);
        int[] tags = new int[TAGS.length];
        for (int i = 0; i < TAGS.length; i++) {
            tags[i] = z.internTag(TAGS[i]);
        }
        TestAggregator a = new TestAggregator(z, tags);
        SplittableRandom random = new SplittableRandom(11);
        int n = 3000;
        ByteBuffer records = TestZones.records(n);
        Map<String, Map<Integer, long[]>> expected = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            int source = random.nextInt(TAGS.length);
            String vip = random.nextBoolean() ? "192.0.2." + random.nextInt(1, 20)
                : "2001:db8::" + Integer.toHexString(random.nextInt(1, 20));
            int status = 100 + random.nextInt(500);
            long in = random.nextInt(1000);
            long out = random.nextInt(100_000);
            TestZones.record(records, i, source, vip, status, in, out, random.nextInt(100), -1);
            long[] sums = expected.computeIfAbsent(TAGS[source] + " " + vip, k -> new TreeMap<>())
                .computeIfAbsent(status, k -> new long[3]);
            sums[0]++;
            sums[1] += in;
            sums[2] += out;
        }
        a.drain(records, n);
        a.flush();

        ZoneSnapshot snapshot = ZoneSnapshot.read(z, ScrapeFilter.NONE);
        Map<String, Map<Integer, long[]>> actual = new TreeMap<>();
        List<String> order = new ArrayList<>();
        for (ZoneSnapshot.Series s : snapshot.series) {
            order.add(s.tag + " " + (s.family == 4 ? 0 : 1) + " " + s.vip);
            Map<Integer, long[]> codes = new TreeMap<>();
            int last = -1;
            for (ZoneSnapshot.Code c : s.codes()) {
                assertTrue(c.status > last, s.vip + ": codes by status, each once");
                last = c.status;
                assertEquals(Integer.toString(c.status), c.text);
                codes.put(c.status, new long[] {c.requests, c.bytesIn, c.bytesOut});
            }
            assertNull(actual.put(s.tag + " " + s.vip, codes), "one series per (tag, vip)");
        }
        assertEquals(expected.keySet(), actual.keySet());
        for (String key : expected.keySet()) {
            Map<Integer, long[]> want = expected.get(key);
            Map<Integer, long[]> got = actual.get(key);
            assertEquals(want.keySet(), got.keySet(), key);
            for (int status : want.keySet()) {
                assertArrayEquals(want.get(status), got.get(status), key + " " + status);
            }
        }
        List<String> sorted = new ArrayList<>(order);
        sorted.sort((x, y) -> {
            String[] p = x.split(" ");
            String[] q = y.split(" ");
            int c = p[0].compareTo(q[0]);
            if (c == 0) {
                c = p[1].compareTo(q[1]);
            }
            return c != 0 ? c : Integer.compare(last(p[2]), last(q[2]));
        });
        assertEquals(sorted, order, "by tag, family, then address");
    }

    /** The last group of a test VIP (192.0.2.N or 2001:db8::N). */
    private static int last(String vip) {
        String[] parts = vip.split("[.:]");
        String p = parts[parts.length - 1];
        return vip.contains(":") ? Integer.parseInt(p, 16) : Integer.parseInt(p);
    }

    @Test
    void aFilteredOutSeriesTakesNoCodesAndAnEmptyZoneHasNone() {
        SharedZone z = TestZones.zone(1 << 20);
        TestAggregator a = new TestAggregator(z, new int[] {z.internTag("mg1"), z.internTag("mg2")});
        ByteBuffer records = TestZones.records(4);
        TestZones.record(records, 0, 0, "192.0.2.1", 200, 1, 1, 1, -1);
        TestZones.record(records, 1, 1, "192.0.2.1", 404, 1, 1, 1, -1);
        TestZones.record(records, 2, 1, "192.0.2.1", 200, 1, 1, 1, -1);
        TestZones.record(records, 3, 0, "192.0.2.2", 503, 1, 1, 1, -1);
        assertTrue(ZoneSnapshot.read(z, ScrapeFilter.NONE).series.isEmpty());
        a.drain(records, 4);
        a.flush();
        ZoneSnapshot only = ZoneSnapshot.read(z, ScrapeFilter.parse("source_tag=mg2".getBytes()));
        assertEquals(1, only.series.size());
        assertEquals(List.of(200, 404), only.series.get(0).codes().stream().map(c -> c.status).toList());
        assertEquals(2, only.codeCount(), "only the codes of the series kept");
    }

    /**
     * A series claimed after the scrape took the series list (here: written
     * without moving SERIES_USED, so the kept list lacks it) and a code of it
     * claimed before the code list: that code is left out, and the series on
     * both sides of its slot keep exactly their own codes.
     */
    @Test
    void aCodeOfASeriesMissingFromTheListIsLeftOutAndTheOthersKeepTheirs() {
        ByteBuffer b = TestZones.buffer(1 << 20);
        SharedZone z = TestZones.open(b);
        int tag = z.internTag("mg1");
        int[] slots = new int[3];
        int claimed = 0;
        for (long addr = 1; claimed < 2; addr++) {     // two series with a free slot between them
            int s = z.findOrClaimSeries(tag, 4, addr, 0);
            if (claimed == 0 || s > slots[0] + 1 && z.seriesStateAt(slots[0] + 1) == 0) {
                slots[claimed++] = s;
            }
        }
        int late = slots[0] + 1;
        z.findOrClaimCode(slots[0], 200);
        z.findOrClaimCode(slots[1], 404);
        assertEquals(2, ZoneSnapshot.read(z, ScrapeFilter.NONE).codeCount());

        b.putLong(z.geometry().seriesOffset(late) + SERIES_ADDR_HI_OFFSET, 99);
        b.putLong(z.geometry().seriesOffset(late), SharedZone.seriesState(tag, 4));
        z.findOrClaimCode(late, 503);
        ZoneSnapshot snapshot = ZoneSnapshot.read(z, ScrapeFilter.NONE);
        assertEquals(2, snapshot.series.size());
        Map<String, List<Integer>> codes = new TreeMap<>();
        for (ZoneSnapshot.Series s : snapshot.series) {
            codes.put(s.vip, s.codes().stream().map(c -> c.status).toList());
        }
        assertEquals(2, snapshot.codeCount(), codes.toString());
        assertEquals(List.of(List.of(200), List.of(404)), new ArrayList<>(codes.values()), codes.toString());

        z.add(SERIES_USED_OFFSET, 1);                 // its claim counted: the next scrape lists it
        assertEquals(3, ZoneSnapshot.read(z, ScrapeFilter.NONE).series.size());
    }
}
