package ch.ipng.stats.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.bench.CoreBenchmark;
import ch.ipng.stats.zone.SharedZone;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PacerTest {

    /** A pacer on a clock that moves only when told to, recording its sleeps. */
    private static final class Fake {
        final AtomicLong now = new AtomicLong(1_000);
        final List<Long> sleeps = new ArrayList<>();
        final Pacer pacer;

        Fake(long slice, long pause) {
            pacer = new Pacer(slice, pause, now::get, sleeps::add);
        }
    }

    @Test
    void pausesOnlyOnceTheSliceIsUsedAndStartsANewOne() {
        Fake f = new Fake(200, 50);
        f.pacer.begin();
        f.now.addAndGet(199);
        f.pacer.check();
        assertEquals(List.of(), f.sleeps, "199 ns into a 200 ns slice: no pause");
        f.now.addAndGet(1);
        f.pacer.check();
        assertEquals(List.of(50L), f.sleeps);
        f.now.addAndGet(150);
        f.pacer.check();
        assertEquals(1, f.sleeps.size(), "the pause started a new slice");
        f.now.addAndGet(50);
        f.pacer.check();
        assertEquals(List.of(50L, 50L), f.sleeps);
        assertEquals(2, f.pacer.pauses());
    }

    @Test
    void aZeroSliceNeverPauses() {
        Fake f = new Fake(0, 50);
        f.pacer.begin();
        f.now.addAndGet(1_000_000_000L);
        f.pacer.check();
        assertEquals(List.of(), f.sleeps);
        Pacer.NONE.begin();
        Pacer.NONE.check();
        assertEquals(0, Pacer.NONE.pauses());
    }

    @Test
    void renderOptionsAreWholeNanosecondsOrAClearError() {
        String before = System.getProperty(Pacer.SLICE_PROPERTY);
        try {
            System.clearProperty(Pacer.SLICE_PROPERTY);
            assertEquals(200_000, Pacer.nanos(Pacer.SLICE_PROPERTY, 200_000));
            System.setProperty(Pacer.SLICE_PROPERTY, "0");
            assertEquals(0, Pacer.nanos(Pacer.SLICE_PROPERTY, 200_000));
            System.setProperty(Pacer.SLICE_PROPERTY, "1000000");
            assertEquals(1_000_000, Pacer.nanos(Pacer.SLICE_PROPERTY, 200_000));
            for (String bad : new String[] {"2ms", "-1", "", " 5", "1e6", "99999999999999999999"}) {
                System.setProperty(Pacer.SLICE_PROPERTY, bad);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    Pacer::fromSystemProperties, bad);
                assertEquals("-Dipng.render.sliceNanos=" + bad
                    + ": not a number of nanoseconds (a whole number, 0 or more)", e.getMessage());
            }
        } finally {
            if (before == null) {
                System.clearProperty(Pacer.SLICE_PROPERTY);
            } else {
                System.setProperty(Pacer.SLICE_PROPERTY, before);
            }
        }
    }

    @Test
    void byteSinkAsksItsPacerOncePerPaceBytes() {
        Fake f = new Fake(1, 7);
        ByteSink out = new ByteSink(16).pacer(f.pacer);
        byte[] kb = new byte[1024];
        for (int round = 0; round < 2; round++) {
            out.reset();
            f.sleeps.clear();
            for (int i = 0; i < 4 * ByteSink.PACE_BYTES / kb.length; i++) {
                f.now.addAndGet(10);
                out.write(kb);
            }
            // writes start at sizes 0, 1k, ... 4 * PACE_BYTES - 1k: the ones at 1, 2 and 3 * PACE_BYTES ask
            assertEquals(3, f.sleeps.size(), "round " + round);
        }
    }

    @Test
    void aPacedRenderIsTheSameAnswerAndPauses() throws Exception {
        SharedZone zone = CoreBenchmark.fullZone();
        BuildInfo build = BuildInfo.of("1.22.1");
        for (String accept : new String[] {null, "application/openmetrics-text", "application/json"}) {
            byte[] a = accept == null ? null : accept.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            ByteSink plain = new ByteSink(1 << 16);
            Scrape.render(plain, zone, build, null, a, null);
            AtomicLong ticking = new AtomicLong();
            List<Long> sleeps = new ArrayList<>();
            ByteSink paced = new ByteSink(1 << 16).pacer(new Pacer(1, 0, ticking::incrementAndGet, sleeps::add));
            Scrape.render(paced, zone, build, null, a, null);
            assertArrayEquals(plain.toByteArray(), paced.toByteArray(), String.valueOf(accept));
            // every check on a clock that never stands still finds the slice used: the sink
            // asks at the first write past each mark and sets the next PACE_BYTES after it
            // (a mark may be passed by up to a line), so well over one ask per 2 * PACE_BYTES
            assertTrue(sleeps.size() >= plain.size() / (2 * ByteSink.PACE_BYTES),
                accept + ": " + sleeps.size() + " pauses for " + plain.size() + " bytes");
        }
    }
}
