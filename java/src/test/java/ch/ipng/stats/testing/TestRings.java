package ch.ipng.stats.testing;

import static ch.ipng.stats.layout.RecordDescriptor.RECORD_LENGTH;
import static ch.ipng.stats.layout.RingDescriptor.*;

import ch.ipng.stats.drain.Consumer;
import ch.ipng.stats.drain.RingWait;
import ch.ipng.stats.drain.Rings;
import ch.ipng.stats.zone.SharedZone;
import ch.ipng.stats.zone.ZoneFormatException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.locks.LockSupport;

/**
 * A rings zone as the master makes it, and workers that use it as C does:
 * claim a free ring with a CAS, then per request {@code tail =
 * load-acquire(TAIL)}, DROPPED + 1 when the ring is full, else the record
 * into its slot and store-release HEAD; store-release CLOSED at exit. One
 * producer thread per ring.
 */
public final class TestRings {

    private static final VarHandle LONGS =
        MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    private static final VarHandle INTS =
        MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    public final ByteBuffer buffer;
    public final int count;
    public final int capacity;
    public final int journalOffset;

    public TestRings(int count, int capacity) {
        this(count, capacity, 1 << 20);
    }

    public TestRings(int count, int capacity, int journalLength) {
        this.count = count;
        this.capacity = capacity;
        int ringsEnd = HEADER_LENGTH + count * (RING_HEADER_LENGTH + capacity * RECORD_LENGTH);
        journalOffset = ringsEnd + 64;          // as C may: a gap after the last ring
        int length = journalOffset + journalLength;
        buffer = ByteBuffer.allocateDirect(length).order(ByteOrder.nativeOrder());
        buffer.putLong(MAGIC_OFFSET, MAGIC);
        buffer.putInt(LAYOUT_VERSION_OFFSET, LAYOUT_VERSION);
        buffer.putInt(HEADER_LENGTH_OFFSET, HEADER_LENGTH);
        buffer.putInt(RING_COUNT_OFFSET, count);
        buffer.putInt(RING_CAPACITY_OFFSET, capacity);
        buffer.putInt(RECORD_LENGTH_OFFSET, RECORD_LENGTH);
        buffer.putInt(RING_HEADER_LENGTH_OFFSET, RING_HEADER_LENGTH);
        buffer.putLong(ZONE_LENGTH_OFFSET, length);
        buffer.putLong(JOURNAL_OFFSET_OFFSET, journalOffset);
        buffer.putLong(JOURNAL_LENGTH_OFFSET, journalLength);
        buffer.putInt(WAKE_RECORDS_OFFSET, Math.max(1, capacity / 4));
    }

    public Rings open() {
        try {
            return Rings.open(buffer);
        } catch (ZoneFormatException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    public int ringOffset(int ring) {
        return HEADER_LENGTH + ring * (RING_HEADER_LENGTH + capacity * RECORD_LENGTH);
    }

    public long word(int ring, int field) {
        return (long) LONGS.getVolatile(buffer, ringOffset(ring) + field);
    }

    /** A worker's claim: CAS OWNER_PID 0 -> pid, then its WORKER. */
    public boolean claim(int ring, long pid, int worker) {
        if (!LONGS.compareAndSet(buffer, ringOffset(ring) + OWNER_PID_OFFSET, 0L, pid)) {
            return false;
        }
        buffer.putInt(ringOffset(ring) + WORKER_OFFSET, worker);
        return true;
    }

    /**
     * One request as the log phase hands it on: false when the ring was full
     * and it was dropped ({@code upstreamMs < 0}: not proxied).
     */
    public boolean publish(int ring, int sourceId, String vip, int status, long in, long out,
                           long requestMs, long upstreamMs) {
        int r = ringOffset(ring);
        long head = (long) LONGS.get(buffer, r + HEAD_OFFSET);
        long tail = (long) LONGS.getAcquire(buffer, r + TAIL_OFFSET);
        if (head - tail == capacity) {
            LONGS.setRelease(buffer, r + DROPPED_OFFSET, (long) LONGS.get(buffer, r + DROPPED_OFFSET) + 1);
            return false;
        }
        TestZones.record(buffer, recordOffset(ring, head) / RECORD_LENGTH, sourceId, vip, status, in, out, requestMs, upstreamMs);
        LONGS.setRelease(buffer, r + HEAD_OFFSET, head + 1);
        if (head + 1 - tail >= buffer.getInt(WAKE_RECORDS_OFFSET)) {
            // C's wake: a full fence, then SLEEPING 1 -> 0 (and FUTEX_WAKE, which futex() stands for)
            VarHandle.fullFence();
            INTS.compareAndSet(buffer, SLEEPING_OFFSET, 1, 0);
        }
        return true;
    }

    /**
     * FUTEX_WAIT on SLEEPING as the kernel does it, by polling: returns when
     * SLEEPING is not 1 (a producer woke the sleeper), after {@code nanos},
     * or at an interrupt (which ends a test; the real wait ends by its interval).
     */
    public RingWait.Futex futex() {
        return new RingWait.Futex() {
            @Override
            public void await(long nanos) {
                long deadline = System.nanoTime() + nanos;
                while ((int) INTS.getVolatile(buffer, SLEEPING_OFFSET) == 1 && System.nanoTime() - deadline < 0
                       && !Thread.currentThread().isInterrupted()) {
                    LockSupport.parkNanos(Math.min(100_000L, deadline - System.nanoTime()));
                }
            }
        };
    }

    public int sleeping() {
        return (int) INTS.getVolatile(buffer, SLEEPING_OFFSET);
    }

    /** Byte offset of the slot of record {@code n} of a ring. */
    public int recordOffset(int ring, long n) {
        return ringOffset(ring) + RECORDS_OFFSET + (int) (n & (capacity - 1)) * RECORD_LENGTH;
    }

    /** Publishes {@code n} records whose slots were written already (benchmarks): HEAD moves, store-release. */
    public void advanceHead(int ring, int n) {
        int r = ringOffset(ring);
        LONGS.setRelease(buffer, r + HEAD_OFFSET, (long) LONGS.get(buffer, r + HEAD_OFFSET) + n);
    }

    /** The owner's clean exit, after its last record. */
    public void close(int ring) {
        LONGS.setRelease(buffer, ringOffset(ring) + CLOSED_OFFSET, CLOSED);
    }

    /** A request of a worker that found no free ring. */
    public void noRingDrop() {
        LONGS.getAndAdd(buffer, NO_RING_DROPS_OFFSET, 1L);
    }

    /**
     * {@code count} transactions of one record each (tag "t", 192.0.2.1, 200)
     * from a ring of worker {@code worker}, through a {@link Consumer}: the
     * worker's flush self-metrics in the zone.
     */
    public static void flushes(SharedZone zone, int worker, int count) {
        TestRings rings = new TestRings(1, 16);
        rings.claim(0, 1000 + worker, worker);
        Consumer c = new Consumer(zone, rings.open(), new int[] {zone.internTag("t")}, 1, ALIVE);
        for (int i = 0; i < count; i++) {
            rings.publish(0, 0, "192.0.2.1", 200, 1, 1, 1, -1);
            try {
                c.lock();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            try {
                c.drainOnce();
            } finally {
                c.unlock();
            }
        }
    }

    /** Every pid is alive. */
    public static final java.util.function.LongPredicate ALIVE = new java.util.function.LongPredicate() {
        @Override
        public boolean test(long pid) {
            return true;
        }
    };

    public long lock() {
        return (long) LONGS.getVolatile(buffer, LOCK_OFFSET);
    }

    public long journalState() {
        return (long) LONGS.getVolatile(buffer, journalOffset + JOURNAL_STATE_OFFSET);
    }
}
