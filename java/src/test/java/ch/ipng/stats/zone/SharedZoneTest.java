package ch.ipng.stats.zone;

import static ch.ipng.stats.layout.ZoneDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.testing.TestZones;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class SharedZoneTest {

    private static final int SMALL = 128 * 1024;

    private static String rejection(Consumer<ByteBuffer> damage) {
        ByteBuffer b = TestZones.buffer(SMALL);
        damage.accept(b);
        ByteBuffer before = ByteBuffer.allocate(b.capacity());
        before.put(b.duplicate().clear());
        ZoneFormatException e = assertThrows(ZoneFormatException.class, () -> SharedZone.open(b));
        assertEquals(before.flip(), b.duplicate().clear(), "a rejected zone is never written");
        assertFalse(e.getMessage().contains("\n"));
        return e.getMessage();
    }

    @Test
    void opensAZoneTheMasterInitialised() {
        SharedZone z = TestZones.zone(SMALL);
        assertEquals(12, z.geometry().bucketCount);
        assertArrayEquals(TestZones.DEFAULT_BOUNDS, z.bounds());
    }

    @Test
    void rejectsBadMagic() {
        assertTrue(rejection(b -> b.putLong(MAGIC_OFFSET, 42)).contains("magic"));
    }

    @Test
    void rejectsOtherLayoutVersion() {
        assertTrue(rejection(b -> b.putInt(LAYOUT_VERSION_OFFSET, 3)).contains("layout version is 3"));
    }

    /** Version 1 was written by the JVMs in every worker, whose counters were atomic adds, not journalled. */
    @Test
    void rejectsAZoneOfThePerWorkerDesign() {
        assertEquals("zone layout version is 1, this jar speaks 2", rejection(b -> b.putInt(LAYOUT_VERSION_OFFSET, 1)));
    }

    @Test
    void rejectsOtherHeaderLength() {
        assertTrue(rejection(b -> b.putInt(HEADER_LENGTH_OFFSET, 1024)).contains("header length"));
    }

    @Test
    void rejectsZoneLengthDifferentFromTheBuffer() {
        assertTrue(rejection(b -> b.putLong(ZONE_LENGTH_OFFSET, SMALL * 2L)).contains("zone length"));
    }

    @Test
    void rejectsBucketCountOutOfRange() {
        assertTrue(rejection(b -> b.putInt(BUCKET_COUNT_OFFSET, 1)).contains("bucket count"));
        assertTrue(rejection(b -> b.putInt(BUCKET_COUNT_OFFSET, 33)).contains("bucket count"));
    }

    @Test
    void rejectsUnknownStatusMode() {
        assertTrue(rejection(b -> b.putInt(STATUS_MODE_OFFSET, 2)).contains("status mode"));
    }

    @Test
    void rejectsBoundsThatDoNotIncrease() {
        assertTrue(rejection(b -> b.putLong(BUCKET_BOUNDS_OFFSET + 8, 1)).contains("bucket bounds"));
    }

    @Test
    void rejectsUnalignedZone() {
        ByteBuffer big = ByteBuffer.allocateDirect(SMALL + 8);
        ByteBuffer b = big.slice(4, SMALL);
        ZoneFormatException e = assertThrows(ZoneFormatException.class, () -> SharedZone.open(b));
        assertTrue(e.getMessage().contains("aligned"));
    }

    @Test
    void rejectsHeapBuffer() {
        assertThrows(ZoneFormatException.class, () -> SharedZone.open(ByteBuffer.allocate(SMALL)));
    }

    @Test
    void capacityMathFollowsTheContract() {
        ZoneGeometry g = ZoneGeometry.of(4 << 20, 12);
        assertEquals(296, g.seriesLength);
        assertEquals(60000, g.codeCapacity);
        assertEquals(7500, g.seriesCapacity);
        assertEquals(52500, g.codeLimit);
        assertEquals(6562, g.seriesLimit);
        assertTrue(g.requiredLength() <= 4 << 20);
        for (int b = 2; b <= 32; b++) {
            for (long len : new long[] {SMALL, 1 << 20, 4 << 20, 64 << 20, 4 << 20 - 12345}) {
                ZoneGeometry x = ZoneGeometry.of(len, b);
                assertTrue(x.requiredLength() <= len, "B=" + b + " len=" + len);
                assertEquals(56 + 2 * (b + 3) * 8, x.seriesLength);
            }
        }
    }

    @Test
    void internsTagsOnceAcrossWorkers() {
        ByteBuffer b = TestZones.buffer(SMALL);
        SharedZone one = TestZones.open(b);
        SharedZone two = TestZones.open(b.duplicate());
        int mg1 = one.internTag("mg1");
        assertEquals(mg1, two.internTag("mg1"));
        int other = two.internTag("gre-mg2");
        assertNotEquals(mg1, other);
        assertArrayEquals("mg1".getBytes(), one.tagBytes(mg1));
        assertEquals(2, one.getVolatile(TAGS_USED_OFFSET));
    }

    @Test
    void rejectsTagLongerThan64Bytes() {
        SharedZone z = TestZones.zone(SMALL);
        assertThrows(IllegalArgumentException.class, () -> z.internTag("x".repeat(65)));
        assertTrue(z.internTag("é".repeat(32)) >= 0);
    }

    @Test
    void findsTheSameSeriesAndCodeSlotAgain() {
        SharedZone z = TestZones.zone(SMALL);
        int s = z.findOrClaimSeries(3, 6, 0x1234, 0x5678);
        assertTrue(s >= 0);
        assertEquals(s, z.findOrClaimSeries(3, 6, 0x1234, 0x5678));
        assertNotEquals(s, z.findOrClaimSeries(3, 4, 0x1234, 0x5678));
        int c = z.findOrClaimCode(s, 200);
        assertEquals(c, z.findOrClaimCode(s, 200));
        assertNotEquals(c, z.findOrClaimCode(s, 404));
        assertEquals(2, z.seriesUsed());
        assertEquals(2, z.codesUsed());
        assertEquals(SharedZone.seriesState(3, 6), z.seriesStateAt(s));
        assertEquals((long) (s + 1) << 16 | 200, z.codeKeyAt(c));
    }

    @Test
    void fullTableDropsOnlyNewKeysAndCountsEvents() {
        SharedZone z = TestZones.zone(SMALL);
        ZoneGeometry g = z.geometry();
        int[] series = new int[(int) g.seriesLimit];
        for (int i = 0; i < series.length; i++) {
            series[i] = z.findOrClaimSeries(1, 4, i + 1, 0);
            assertTrue(series[i] >= 0);
        }
        assertEquals(0, z.zoneFullEvents());
        assertEquals(-1, z.findOrClaimSeries(1, 4, 999_999, 0));
        assertEquals(-1, z.findOrClaimSeries(1, 4, 999_998, 0));
        assertEquals(2, z.zoneFullEvents());
        assertEquals(g.seriesLimit, z.seriesUsed());
        for (int i = 0; i < series.length; i++) {
            assertEquals(series[i], z.findOrClaimSeries(1, 4, i + 1, 0), "existing keys keep their slot");
        }
        long codes = 0;
        for (int status = 0; codes < g.codeLimit; status++) {
            assertTrue(z.findOrClaimCode(series[status % series.length], status / series.length) >= 0);
            codes++;
        }
        assertEquals(-1, z.findOrClaimCode(series[0], 9999));
        assertEquals(3, z.zoneFullEvents());
        assertTrue(z.findOrClaimCode(series[0], 0) >= 0);
        assertEquals(3, z.zoneFullEvents());
        assertEquals(g.codeLimit, z.codesUsed());
    }

    @Test
    void readerProbesPastASlotLeftBusyByADeadClaimer() {
        ByteBuffer b = TestZones.buffer(SMALL);
        SharedZone z = TestZones.open(b);
        int home = ZoneHash.index(ZoneHash.series(1, 4, 7, 0), z.geometry().seriesCapacity);
        b.putLong(z.geometry().seriesOffset(home), SERIES_BUSY);
        int s = z.findOrClaimSeries(1, 4, 7, 0);
        assertTrue(s >= 0);
        assertNotEquals(home, s);
        assertEquals(s, z.findOrClaimSeries(1, 4, 7, 0));
    }

    /** The claimed-slot lists as (series slot, status) pairs, to compare with what was claimed. */
    private static java.util.List<String> claimedKeys(SharedZone z) {
        java.util.List<String> keys = new java.util.ArrayList<>();
        for (long e : z.claimedCodes()) {
            long key = e >>> z.codeSlotBits();
            int slot = (int) (e & ((1L << z.codeSlotBits()) - 1));
            assertEquals(key, z.codeKeyAt(slot), "entry names its slot");
            keys.add(((key >>> 16) - 1) + "/" + (key & 0xffff));
        }
        return keys;
    }

    @Test
    void claimedListsAreKeptUntilAKeyIsClaimedAndComeBySeriesThenStatus() {
        SharedZone z = TestZones.zone(SMALL);
        int a = z.findOrClaimSeries(1, 4, 0x0a, 0);
        int b = z.findOrClaimSeries(1, 6, 0x0b, 0x1);
        z.findOrClaimCode(b, 503);
        z.findOrClaimCode(a, 404);
        z.findOrClaimCode(b, 200);
        long[] series = z.claimedSeries();
        assertArrayEquals(new long[] {Math.min(a, b), Math.max(a, b)}, series);
        java.util.List<String> want = a < b
            ? java.util.List.of(a + "/404", b + "/200", b + "/503")
            : java.util.List.of(b + "/200", b + "/503", a + "/404");
        assertEquals(want, claimedKeys(z));
        assertSame(series, z.claimedSeries(), "no claim since: the list is kept");
        assertSame(z.claimedCodes(), z.claimedCodes());

        z.findOrClaimCode(a, 200);
        assertTrue(claimedKeys(z).contains(a + "/200"), "a new code is listed");
        int c = z.findOrClaimSeries(2, 4, 0x0c, 0);
        assertEquals(3, z.claimedSeries().length, "a new series is listed");
        assertTrue(java.util.Arrays.stream(z.claimedSeries()).anyMatch(x -> x == c));
    }

    /** The order to read counters in: every code once, by ascending slot, kept list or not. */
    @Test
    void slotOrderVisitsEveryCodeOnceByAscendingSlot() {
        SharedZone z = TestZones.zone(SMALL);
        java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        for (int i = 0; i < 300; i++) {
            int s = z.findOrClaimSeries(1 + random.nextInt(3), 4, random.nextInt(20), 0);
            z.findOrClaimCode(s, 100 + random.nextInt(500));
        }
        long[] kept = z.claimedCodes();
        long[] copy = kept.clone();            // not the kept list: the order is computed afresh
        long mask = (1L << z.codeSlotBits()) - 1;
        for (long[] codes : new long[][] {kept, copy}) {
            int[] order = z.claimedCodeSlotOrder(codes);
            assertEquals(codes.length, order.length);
            assertEquals(codes.length, java.util.Arrays.stream(order).distinct().count(), "each code once");
            for (int j = 1; j < order.length; j++) {
                assertTrue((codes[order[j - 1]] & mask) < (codes[order[j]] & mask), "ascending slots at " + j);
            }
        }
    }

    /**
     * A claimer between its reservation (USED + 1) and its claim: a walk then
     * finds fewer keys than USED counts and must not be kept, or the key
     * claimed right after would never be listed (USED does not move again).
     */
    @Test
    void aWalkThatMeetsAClaimInFlightIsNotKept() {
        ByteBuffer b = TestZones.buffer(SMALL);
        SharedZone z = TestZones.open(b);
        int s = z.findOrClaimSeries(1, 4, 0x0a, 0);
        z.findOrClaimCode(s, 200);
        assertEquals(1, z.claimedCodes().length);

        z.add(CODE_KEYS_USED_OFFSET, 1);            // reserved, not claimed yet
        assertEquals(1, z.claimedCodes().length);
        int free = ZoneHash.index(ZoneHash.code(SharedZone.codeKey(s, 404)), z.geometry().codeCapacity);
        while (z.codeKeyAt(free) != 0) {
            free = (free + 1) % z.geometry().codeCapacity;
        }
        b.putLong(z.geometry().codeOffset(free), SharedZone.codeKey(s, 404));   // the claim lands
        assertEquals(java.util.List.of(s + "/200", s + "/404"), claimedKeys(z));
        assertEquals(free, z.findOrClaimCode(s, 404), "the zone finds it where it landed");

        z.add(SERIES_USED_OFFSET, 1);                // the same for a series
        assertEquals(1, z.claimedSeries().length);
        int home = ZoneHash.index(ZoneHash.series(1, 4, 0x0b, 0), z.geometry().seriesCapacity);
        while (z.seriesStateAt(home) != SERIES_EMPTY) {
            home = (home + 1) % z.geometry().seriesCapacity;
        }
        b.putLong(z.geometry().seriesOffset(home) + SERIES_ADDR_HI_OFFSET, 0x0b);
        b.putLong(z.geometry().seriesOffset(home), SharedZone.seriesState(1, 4));
        assertEquals(2, z.claimedSeries().length);
    }

    @Test
    void bytesUsedCountsNginxPartHeaderTablesAndClaimedSlots() {
        ByteBuffer b = TestZones.buffer(SMALL, SMALL + 8192, STATUS_MODE_EXACT, TestZones.DEFAULT_BOUNDS);
        SharedZone z = TestZones.open(b);
        assertEquals(SMALL + 8192, z.bytesTotal());
        assertEquals(8192 + 54272, z.bytesUsed());
        int s = z.findOrClaimSeries(0, 4, 1, 0);
        z.findOrClaimCode(s, 200);
        z.findOrClaimCode(s, 404);
        assertEquals(8192 + 54272 + 296 + 2 * 32, z.bytesUsed());
    }

    @Test
    void selfMetricBoundsFillTheSixteenWords() {
        assertEquals(SELF_BUCKET_COUNT - 1, SelfMetrics.FINITE_BOUNDS);
        assertEquals(0, SelfMetrics.bucket(10_000));
        assertEquals(1, SelfMetrics.bucket(10_001));
        assertEquals(15, SelfMetrics.bucket(500_000_001));
    }
}
