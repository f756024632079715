package ch.ipng.stats.drain;

import static ch.ipng.stats.layout.RingDescriptor.*;
import static ch.ipng.stats.layout.ZoneDescriptor.WORKER_FLUSHES_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.WORKER_PID_OFFSET;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.format.ScrapeFilter;
import ch.ipng.stats.format.ZoneSnapshot;
import ch.ipng.stats.testing.TestRings;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.Journal;
import ch.ipng.stats.zone.SharedZone;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ConsumerTest {

    private static final String[] STATUS_VIPS = {"192.0.2.1", "192.0.2.2", "2001:db8::1", "198.51.100.9"};

    /** A counters zone, a rings zone, and which pids are alive. */
    private static final class Fixture {
        final SharedZone zone = TestZones.zone(1 << 20);
        final TestRings rings;
        final int[] tags = {zone.internTag("a"), zone.internTag("b")};
        final Set<Long> live = ConcurrentHashMap.newKeySet();

        Fixture(int count, int capacity, int journalLength) {
            rings = new TestRings(count, capacity, journalLength);
        }

        Fixture(int count, int capacity) {
            this(count, capacity, 1 << 20);
        }

        /** The consumer of a stats process, which is alive. */
        Consumer consumer(long pid) {
            live.add(pid);
            return new Consumer(zone, rings.open(), tags, pid, live::contains);
        }

        /** A worker's ring: claimed by a pid that is alive. */
        void claim(int ring, long pid, int worker) {
            assertTrue(rings.claim(ring, pid, worker));
            live.add(pid);
        }

        /** Every key's requests, as "tag vip status". */
        Map<String, Long> requests() {
            Map<String, Long> m = new TreeMap<>();
            for (ZoneSnapshot.Series s : ZoneSnapshot.read(zone, ScrapeFilter.NONE).series) {
                long sum = 0;
                for (ZoneSnapshot.Code c : s.codes()) {
                    m.put(s.tag + " " + s.vip + " " + c.status, c.requests);
                    sum += c.requests;
                }
                assertEquals(s.duration.count(), sum, "a series' histogram holds its codes' requests: " + s.vip);
            }
            return m;
        }

        long total() {
            return requests().values().stream().mapToLong(Long::longValue).sum();
        }

        long ring(int ring, int field) {
            return rings.word(ring, field);
        }
    }

    /** Publishes {@code n} records to a ring, key by key; returns those that fitted. */
    private static int publish(Fixture f, int ring, int n, Map<String, Long> expected) {
        int published = 0;
        for (int i = 0; i < n; i++) {
            int source = i % 2;
            String vip = STATUS_VIPS[(i / 2) % STATUS_VIPS.length];
            int status = 200 + i % 3;
            if (f.rings.publish(ring, source, vip, status, 1, 1, i % 100, -1)) {
                published++;
                if (expected != null) {
                    expected.merge((source == 0 ? "a " : "b ") + vip + " " + status, 1L, Long::sum);
                }
            }
        }
        return published;
    }

    private static void pass(Consumer c, boolean checkOwners) throws InterruptedException {
        c.lock();
        try {
            c.drainToHeads();
            c.releaseRings(checkOwners);
        } finally {
            c.unlock();
        }
    }

    /**
     * Four workers write into their rings (small ones, so that they fill and
     * drop) while two stats processes drain them, as at a reload, and a third
     * thread scrapes: every published record is counted exactly once, every
     * drop lands in DROPPED_RECORDS once, and no scrape sees a transaction
     * half done (each series' histogram count equals its codes' requests).
     */
    @Test
    @Timeout(120)
    void countsEveryPublishedRecordOnceWhileProducersWriteAndTwoProcessesDrain() throws Exception {
        Fixture f = new Fixture(4, 256);
        int producers = 4;
        int perProducer = 100_000;
        List<Map<String, Long>> expected = new ArrayList<>();
        AtomicLong drops = new AtomicLong();
        AtomicBoolean producing = new AtomicBoolean(true);
        Consumer old = f.consumer(100);
        Consumer current = f.consumer(200);
        ExecutorService pool = Executors.newFixedThreadPool(producers + 3);
        CyclicBarrier go = new CyclicBarrier(producers + 3);
        List<Future<?>> work = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int ring = p;
            Map<String, Long> mine = new TreeMap<>();
            expected.add(mine);
            f.claim(ring, 1000 + ring, ring);
            work.add(pool.submit(() -> {
                go.await();
                int published = publish(f, ring, perProducer, mine);
                drops.addAndGet(perProducer - published);
                f.rings.close(ring);
                return null;
            }));
        }
        List<Future<?>> consumers = new ArrayList<>();
        for (Consumer c : new Consumer[] {old, current}) {
            consumers.add(pool.submit(() -> {
                go.await();
                long second = 0;
                while (producing.get()) {
                    c.lock();
                    try {
                        c.drainOnce();
                        c.releaseRings(++second % 64 == 0);
                    } finally {
                        c.unlock();
                    }
                }
                return null;
            }));
        }
        AtomicLong scrapes = new AtomicLong();
        consumers.add(pool.submit(() -> {
            go.await();
            while (producing.get()) {
                current.lock();
                try {
                    current.drainToHeads();
                    f.requests();               // asserts every series is whole
                    scrapes.incrementAndGet();
                } finally {
                    current.unlock();
                }
            }
            return null;
        }));
        for (Future<?> w : work) {
            w.get();
        }
        producing.set(false);
        for (Future<?> c : consumers) {
            c.get();
        }
        pool.shutdown();
        pass(current, true);

        Map<String, Long> want = new TreeMap<>();
        for (Map<String, Long> m : expected) {
            m.forEach((k, v) -> want.merge(k, v, Long::sum));
        }
        assertEquals(want, f.requests());
        assertEquals(producers * (long) perProducer - drops.get(), f.total());
        assertEquals(drops.get(), f.zone.droppedRecords(), "every drop once");
        assertEquals(0, current.pendingDrops());
        for (int r = 0; r < producers; r++) {
            assertEquals(0, f.ring(r, OWNER_PID_OFFSET), "ring " + r + " released");
        }
        assertEquals(0, f.rings.lock());
        assertEquals(0, f.rings.journalState());
        assertTrue(scrapes.get() > 0);
    }

    /**
     * A stats process dies after k stores of its transactions, for every k:
     * a drain of three rings (one with drops), then the release of a closed
     * ring and of one whose owner died. The next process takes the lock of
     * the dead one, rolls back or finishes what it left, and drains: every
     * record counts once, every drop once, every ring ends as it should.
     */
    @Test
    void aTransactionInterruptedAtEveryStoreIsFinishedOrUndoneByTheNextProcess() throws Exception {
        int k = 0;
        for (boolean done = false; !done; k++) {
            Fixture f = new Fixture(3, 16);
            Map<String, Long> want = new TreeMap<>();
            f.claim(0, 11, 0);
            assertEquals(16, publish(f, 0, 19, want), "3 dropped");
            f.claim(1, 12, 1);
            assertEquals(16, publish(f, 1, 18, want), "2 dropped");
            f.rings.close(1);
            f.live.remove(12L);                 // a worker closes its ring as it exits
            assertTrue(f.rings.claim(2, 13, 2));  // its owner was killed
            assertEquals(7, publish(f, 2, 7, want));
            f.rings.noRingDrop();

            Consumer dying = f.consumer(100);
            dying.lock();
            dying.journal().interruptAfter(k);
            try {
                dying.drainOnce();
                dying.releaseRings(true);
                done = true;
            } catch (Journal.Interrupted e) {
                // the process died here, holding LOCK
            }
            if (!done) {
                assertEquals(100, f.rings.lock());
            }
            f.live.remove(100L);

            Consumer next = f.consumer(200);
            pass(next, true);
            String at = "died after " + k + " stores";
            assertEquals(want, f.requests(), at);
            assertEquals(5, f.zone.droppedRecords(), at);
            assertEquals(1, next.pendingDrops(), "the worker without a ring: " + at);
            assertEquals(16, f.ring(0, TAIL_OFFSET), at);
            assertEquals(3, f.ring(0, DROPPED_SEEN_OFFSET), at);
            assertEquals(11, f.ring(0, OWNER_PID_OFFSET), at);
            for (int r = 1; r <= 2; r++) {
                for (int field : new int[] {OWNER_PID_OFFSET, WORKER_OFFSET, CLOSED_OFFSET, HEAD_OFFSET, TAIL_OFFSET,
                        DROPPED_OFFSET, DROPPED_SEEN_OFFSET}) {
                    assertEquals(0, f.ring(r, field), "ring " + r + " released, field " + field + ": " + at);
                }
            }
            assertEquals(0, f.rings.journalState(), at);
            assertEquals(0, f.rings.lock(), at);
        }
        assertTrue(k > 100, "every store was a place to die: " + k);
    }

    /** A transaction that throws in this process: rolled back at the next lock, its records drained again. */
    @Test
    void aTransactionThatFailsIsUndoneByTheSameProcess() throws Exception {
        for (int k = 0; k < 60; k += 3) {
            Fixture f = new Fixture(2, 64);
            Map<String, Long> want = new TreeMap<>();
            f.claim(0, 11, 0);
            f.claim(1, 12, 1);
            publish(f, 0, 40, want);
            publish(f, 1, 30, want);
            Consumer c = f.consumer(100);
            c.lock();
            c.journal().interruptAfter(k);
            assertThrows(Journal.Interrupted.class, c::drainOnce);
            c.journal().interruptAfter(Long.MAX_VALUE);
            c.unlock();
            pass(c, false);
            assertEquals(want, f.requests(), "failed after " + k + " stores");
        }
    }

    @Test
    void takesTheLockOfADeadProcessAndWaitsForALiveOne() throws Exception {
        Fixture f = new Fixture(1, 16);
        Consumer c = f.consumer(200);
        f.rings.buffer.putLong(LOCK_OFFSET, 4242);      // a stats process that is gone
        assertTrue(c.lock(0));
        assertEquals(200, f.rings.lock());
        c.unlock();
        assertEquals(0, f.rings.lock());

        f.live.add(4343L);
        f.rings.buffer.putLong(LOCK_OFFSET, 4343);      // one that runs
        assertFalse(c.lock(TimeUnit.MILLISECONDS.toNanos(20)));
        assertEquals(4343, f.rings.lock());
        Thread release = new Thread(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
            f.rings.buffer.putLong(LOCK_OFFSET, 0);
        });
        release.start();
        c.lock();
        assertEquals(200, f.rings.lock());
        c.unlock();
        release.join();

        f.rings.buffer.putLong(LOCK_OFFSET, 200);       // ours, left by a holder that failed
        assertTrue(c.lock(0));
        c.unlock();
        assertEquals(0, f.rings.lock());
    }

    @Test
    void releasesAClosedRingOnceDrainedAndCountsItsDropsOnce() throws Exception {
        Fixture f = new Fixture(2, 16);
        Map<String, Long> want = new TreeMap<>();
        f.claim(0, 11, 4);
        publish(f, 0, 20, want);
        f.rings.close(0);
        Consumer c = f.consumer(100);
        c.lock();
        try {
            c.releaseRings(false);
            assertEquals(11, f.ring(0, OWNER_PID_OFFSET), "not before its records are drained");
            assertEquals(4, c.pendingDrops());
            c.drainOnce();
            c.releaseRings(false);
            assertEquals(0, f.ring(0, OWNER_PID_OFFSET));
            assertEquals(4, f.zone.droppedRecords());
            assertEquals(0, c.pendingDrops());
            c.releaseRings(true);
            assertEquals(4, f.zone.droppedRecords(), "once");
        } finally {
            c.unlock();
        }
        // a new worker claims the ring as it is now: reset
        f.claim(0, 21, 0);
        publish(f, 0, 5, want);
        pass(c, false);
        assertEquals(want, f.requests());
        assertEquals(5, f.ring(0, TAIL_OFFSET));
    }

    @Test
    void releasesTheRingOfAWorkerThatDiedWhenOwnersAreChecked() throws Exception {
        Fixture f = new Fixture(2, 16);
        f.claim(0, 11, 0);
        f.claim(1, 12, 1);
        publish(f, 0, 3, null);
        publish(f, 1, 3, null);
        f.live.remove(11L);                             // killed, never closed its ring
        Consumer c = f.consumer(100);
        pass(c, false);
        assertEquals(11, f.ring(0, OWNER_PID_OFFSET), "owners are checked once a second only");
        pass(c, true);
        assertEquals(0, f.ring(0, OWNER_PID_OFFSET));
        assertEquals(12, f.ring(1, OWNER_PID_OFFSET), "a live worker keeps its ring");
        assertEquals(6, f.total());
    }

    /** A journal of 124 entries: transaction after transaction, each fits, every record counts once. */
    @Test
    void boundsEveryTransactionToTheJournal() throws Exception {
        Fixture f = new Fixture(3, 256, 2048);
        Map<String, Long> want = new TreeMap<>();
        for (int r = 0; r < 3; r++) {
            f.claim(r, 11 + r, r);
            for (int i = 0; i < 200; i++) {
                String vip = "10.0." + r + "." + (i % 50);
                assertTrue(f.rings.publish(r, i % 2, vip, 200, 1, 1, 1, -1));
                want.merge((i % 2 == 0 ? "a " : "b ") + vip + " 200", 1L, Long::sum);
            }
        }
        Consumer c = f.consumer(100);
        assertEquals(124, c.journal().capacity());
        int transactions = 1;
        c.lock();
        try {
            while (c.drainOnce()) {
                transactions++;
            }
        } finally {
            c.unlock();
        }
        assertEquals(want, f.requests());
        assertTrue(transactions > 50, transactions + " transactions");
        for (int r = 0; r < 3; r++) {
            assertEquals(200, f.ring(r, TAIL_OFFSET));
        }
    }

    @Test
    void refusesAJournalTooSmallForATransactionOfOneRecord() {
        Fixture f = new Fixture(1, 16, 512);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.consumer(100));
        assertTrue(e.getMessage().contains("a journal of 28 entries cannot hold a transaction of one record"),
            e.getMessage());
    }

    @Test
    void flushMetricsGoToTheRingsWorkerAndOwner() throws Exception {
        Fixture f = new Fixture(3, 16);
        f.claim(0, 55, 5);
        f.claim(1, 66, 130);                            // beyond the table: shares entry 127
        f.claim(2, 77, 9);
        publish(f, 0, 2, null);
        publish(f, 1, 2, null);
        publish(f, 2, 17, null);                        // fills it: one drop
        Consumer c = f.consumer(100);
        pass(c, false);
        f.rings.buffer.putLong(f.rings.ringOffset(2) + DROPPED_OFFSET, 2);   // only a drop since
        pass(c, false);
        ByteBufferWords z = new ByteBufferWords(f.zone);
        assertEquals(1, z.at(SharedZone.workerOffset(5) + WORKER_FLUSHES_OFFSET));
        assertEquals(55, z.at(SharedZone.workerOffset(5) + WORKER_PID_OFFSET));
        assertEquals(1, z.at(SharedZone.workerOffset(127) + WORKER_FLUSHES_OFFSET));
        assertEquals(66, z.at(SharedZone.workerOffset(127) + WORKER_PID_OFFSET));
        assertEquals(1, z.at(SharedZone.workerOffset(9) + WORKER_FLUSHES_OFFSET), "a drop alone is no flush");
        assertEquals(2, f.zone.droppedRecords());
    }

    /** A ring whose HEAD is behind its TAIL: the transaction fails and counts nothing of any ring. */
    @Test
    void aCorruptRingFailsTheTransactionWithoutCountingTheOthersTwice() throws Exception {
        Fixture f = new Fixture(2, 16);
        Map<String, Long> want = new TreeMap<>();
        f.claim(0, 11, 0);
        f.claim(1, 12, 1);
        publish(f, 0, 10, want);
        f.rings.buffer.putLong(f.rings.ringOffset(1) + TAIL_OFFSET, 5);
        Consumer c = f.consumer(100);
        c.lock();
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, c::drainOnce);
            assertEquals("ring 1 of pid 12: HEAD 0 and TAIL 5 are not 0..16 records apart", e.getMessage());
        } finally {
            c.unlock();
        }
        assertEquals(Map.of(), f.requests());
        f.rings.buffer.putLong(f.rings.ringOffset(1) + TAIL_OFFSET, 0);
        pass(c, false);
        assertEquals(want, f.requests());
    }

    @Test
    void needsTheLockForEveryTransactionAndTakesItOnce() throws Exception {
        Fixture f = new Fixture(1, 16);
        Consumer c = f.consumer(100);
        assertThrows(IllegalStateException.class, c::drainOnce);
        assertThrows(IllegalStateException.class, c::drainToHeads);
        assertThrows(IllegalStateException.class, () -> c.releaseRings(true));
        c.lock();
        try {
            assertThrows(IllegalStateException.class, c::lock, "a second lock would undo the first one's work");
            assertEquals(100, c.lockHolder());
        } finally {
            c.unlock();
        }
        assertEquals(0, c.lockHolder());
    }

    /** Reads counters zone words (the zone's own getter). */
    private static final class ByteBufferWords {
        final SharedZone zone;

        ByteBufferWords(SharedZone zone) {
            this.zone = zone;
        }

        long at(int offset) {
            return zone.getVolatile(offset);
        }
    }
}
