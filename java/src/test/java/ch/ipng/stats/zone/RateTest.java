package ch.ipng.stats.zone;

import static ch.ipng.stats.layout.ZoneDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.testing.TestZones;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class RateTest {

    private static final double EPS = 1e-9;

    private static void addRequests(SharedZone z, int series, long n) {
        int countWord = (z.geometry().histogramWords - 1) * Long.BYTES;
        z.add(z.histogramOffset(series, 0) + countWord, n);
    }

    private static double rate(SharedZone z, int series, int which) {
        return z.getDouble(z.geometry().seriesOffset(series) + SERIES_RATE_1S_OFFSET + which * 8);
    }

    @Test
    void firstTickOnlyTakesSnapshots() {
        SharedZone z = TestZones.zone(256 * 1024);
        int s = z.findOrClaimSeries(0, 4, 1, 0);
        addRequests(z, s, 500);
        assertTrue(z.tick(1_000));
        assertEquals(0.0, rate(z, s, 0));
        assertEquals(500, z.getVolatile(z.geometry().seriesOffset(s) + SERIES_RATE_SNAPSHOT_OFFSET));
    }

    @Test
    void oneSecondTickMovesEachRateByItsDecay() {
        SharedZone z = TestZones.zone(256 * 1024);
        int s = z.findOrClaimSeries(0, 4, 1, 0);
        z.tick(1_000);
        addRequests(z, s, 100);
        assertTrue(z.tick(1_001));
        assertEquals(100 * (1 - Math.exp(-1.0)), rate(z, s, 0), EPS);
        assertEquals(100 * (1 - Math.exp(-0.1)), rate(z, s, 1), EPS);
        assertEquals(100 * (1 - Math.exp(-1.0 / 60)), rate(z, s, 2), EPS);
    }

    @Test
    void onlyOneCallerWinsEachSecond() {
        ByteBuffer b = TestZones.buffer(256 * 1024);
        SharedZone one = TestZones.open(b);
        SharedZone two = TestZones.open(b.duplicate());
        assertTrue(one.tick(50));
        assertFalse(two.tick(50));
        assertFalse(one.tick(49));
        assertTrue(two.tick(51));
        assertEquals(51, one.getVolatile(RATE_TICK_SECOND_OFFSET));
    }

    @Test
    void missedSecondsSpreadTheDeltaOverTheGap() {
        SharedZone z = TestZones.zone(256 * 1024);
        int s = z.findOrClaimSeries(0, 4, 1, 0);
        z.tick(1_000);
        addRequests(z, s, 100);
        z.tick(1_001);
        double r10 = rate(z, s, 1);
        addRequests(z, s, 300);
        z.tick(1_004);
        double a = Math.exp(-3 / 10.0);
        assertEquals(r10 * a + 100 * (1 - a), rate(z, s, 1), EPS);
    }

    @Test
    void missedSecondsEqualConsecutiveTicksForASteadyRate() {
        SharedZone gap = TestZones.zone(256 * 1024);
        SharedZone steady = TestZones.zone(256 * 1024);
        int g = gap.findOrClaimSeries(0, 4, 1, 0);
        int s = steady.findOrClaimSeries(0, 4, 1, 0);
        gap.tick(10);
        steady.tick(10);
        addRequests(gap, g, 50 * 5);
        gap.tick(15);
        for (int t = 11; t <= 15; t++) {
            addRequests(steady, s, 50);
            steady.tick(t);
        }
        for (int w = 0; w < 3; w++) {
            assertEquals(rate(steady, s, w), rate(gap, g, w), EPS);
        }
    }

    @Test
    void steadyTrafficConvergesToItsRate() {
        SharedZone z = TestZones.zone(256 * 1024);
        int s = z.findOrClaimSeries(0, 4, 1, 0);
        long now = 1_700_000_000L;
        z.tick(now);
        for (int i = 1; i <= 600; i++) {
            addRequests(z, s, 42);
            z.tick(now + i);
        }
        assertEquals(42.0, rate(z, s, 0), 1e-6);
        assertEquals(42.0, rate(z, s, 1), 1e-6);
        assertEquals(42.0 * (1 - Math.exp(-10.0)), rate(z, s, 2), 1e-6);
        for (int i = 601; i <= 700; i++) {
            z.tick(now + i);
        }
        assertEquals(0.0, rate(z, s, 0), 1e-6);
    }
}
