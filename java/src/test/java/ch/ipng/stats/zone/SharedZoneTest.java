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
        assertTrue(rejection(b -> b.putInt(LAYOUT_VERSION_OFFSET, 2)).contains("layout version is 2"));
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
