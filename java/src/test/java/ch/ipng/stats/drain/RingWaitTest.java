package ch.ipng.stats.drain;

import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.testing.TestRings;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The drain thread's sleep against producers that follow C's wake rule
 * (TestRings.publish): a ring a quarter full ends it, fewer records do not.
 */
class RingWaitTest {

    private static final long PID = 4242;
    private static final long TEN_MINUTES = 600_000;

    private final TestRings rings = new TestRings(2, 64);
    private final Rings r = rings.open();
    private final AtomicInteger waits = new AtomicInteger();

    private RingWait ringWait() {
        RingWait.Futex futex = rings.futex();
        return new RingWait(r, new RingWait.Futex() {
            @Override
            public void await(long nanos) {
                waits.incrementAndGet();
                futex.await(nanos);
            }
        });
    }

    private void publish(int ring, int n) {
        for (int i = 0; i < n; i++) {
            assertTrue(rings.publish(ring, 0, "192.0.2.1", 200, 1, 1, 1, -1));
        }
    }

    /** Runs a ten-minute sleep on a thread; returns it once it sleeps. */
    private Thread sleeper(RingWait w) throws InterruptedException {
        Thread t = new Thread(() -> {
            try {
                w.sleep(TEN_MINUTES);
            } catch (InterruptedException e) {
                // the test's end
            }
        });
        t.start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (waits.get() == 0 || rings.sleeping() == 0) {
            assertTrue(System.nanoTime() < deadline, "the sleeper never slept");
            Thread.sleep(1);
        }
        return t;
    }

    @Test
    void aRingReachingAQuarterOfItsCapacityWakesTheSleeper() throws InterruptedException {
        assertEquals(16, r.wakeRecords());
        rings.claim(1, PID, 0);
        assertWokenByTheSixteenthRecord(1, sleeper(ringWait()));
        assertEquals(0, rings.sleeping());
    }

    @Test
    void aRingAlreadyAQuarterFullMeansNoSleepAtAll() throws InterruptedException {
        rings.claim(0, PID, 0);
        publish(0, 16);
        ringWait().sleep(TEN_MINUTES);
        assertEquals(0, waits.get(), "no futex wait");
        assertEquals(1, rings.sleeping(), "SLEEPING stays: only a worker clears it");
    }

    @Test
    void aRingOfNoOwnerDoesNotCount() throws InterruptedException {
        rings.claim(0, PID, 0);
        publish(0, 16);
        rings.buffer.putLong(rings.ringOffset(0), 0);   // its owner released (as the consumer does)
        assertEquals(0, r.fullest());
    }

    @Test
    void theIntervalEndsTheSleepWithoutAWorker() throws InterruptedException {
        long start = System.nanoTime();
        ringWait().sleep(50);
        assertTrue(System.nanoTime() - start >= 50_000_000L, "slept the interval");
        assertEquals(1, waits.get());
        assertEquals(1, rings.sleeping(), "SLEEPING stays: only a worker clears it");
    }

    @Test
    void aSleeperWhoseIntervalEndsLeavesTheOthersWake() throws InterruptedException {
        rings.claim(0, PID, 0);
        Thread t = sleeper(ringWait());
        ringWait().sleep(1);    // a second stats process's drain thread, woken by its interval
        assertWokenByTheSixteenthRecord(0, t);
    }

    /** 15 records into {@code ring} leave {@code sleeper} asleep; the 16th (a quarter of 64) wakes it. */
    private void assertWokenByTheSixteenthRecord(int ring, Thread sleeper) throws InterruptedException {
        publish(ring, 15);
        sleeper.join(200);
        assertTrue(sleeper.isAlive(), "15 records of 64 do not wake it");
        publish(ring, 1);
        sleeper.join(30_000);
        assertFalse(sleeper.isAlive(), "the 16th record woke it");
    }

    @Test
    void anInterruptEndsTheSleepWithInterruptedException() {
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> ringWait().sleep(1));
        assertFalse(Thread.currentThread().isInterrupted());
    }
}
