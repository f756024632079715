package ch.ipng.stats.drain;

import static ch.ipng.stats.layout.RingDescriptor.*;

import ch.ipng.stats.layout.RecordDescriptor;
import ch.ipng.stats.zone.Journal;
import ch.ipng.stats.zone.SharedZone;
import ch.ipng.stats.zone.ZoneFormatException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The rings zone (layout: {@link ch.ipng.stats.layout.RingDescriptor}) as
 * the stats process reads it: the header C wrote, validated once, and the
 * words of each ring with the access the protocol asks for (see
 * {@link Consumer}): acquire for what a producer publishes (OWNER_PID, HEAD,
 * DROPPED, CLOSED), plain for what only the consumer writes (TAIL,
 * DROPPED_SEEN). Stores go through the {@link Journal}.
 */
public final class Rings {

    private static final VarHandle LONGS =
        MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    private static final VarHandle INTS =
        MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    private final ByteBuffer buffer;
    private final int count;
    private final int capacity;
    private final int stride;
    private final int wakeRecords;
    private final int journalOffset;
    private final int journalLength;

    private Rings(ByteBuffer buffer, int count, int capacity, int wakeRecords, int journalOffset,
                  int journalLength) {
        this.buffer = buffer;
        this.count = count;
        this.capacity = capacity;
        this.wakeRecords = wakeRecords;
        this.stride = RING_HEADER_LENGTH + capacity * RecordDescriptor.RECORD_LENGTH;
        this.journalOffset = journalOffset;
        this.journalLength = journalLength;
    }

    /**
     * Validates the header written by C.
     *
     * @throws ZoneFormatException naming the first field that differs; the zone is not written
     */
    public static Rings open(ByteBuffer rings) throws ZoneFormatException {
        if (rings == null || !rings.isDirect()) {
            throw new ZoneFormatException("rings zone is not a direct ByteBuffer");
        }
        ByteBuffer b = rings.duplicate().order(ByteOrder.nativeOrder());
        b.clear();
        if (b.capacity() < HEADER_LENGTH) {
            throw new ZoneFormatException("rings zone too small for its header: " + b.capacity() + " bytes");
        }
        if (b.alignmentOffset(0, Long.BYTES) != 0) {
            throw new ZoneFormatException("rings zone address is not 8-byte aligned");
        }
        long magic = b.getLong(MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new ZoneFormatException(String.format("rings zone magic is 0x%016x, expected 0x%016x", magic, MAGIC));
        }
        expect(b, LAYOUT_VERSION_OFFSET, LAYOUT_VERSION, "layout version");
        expect(b, HEADER_LENGTH_OFFSET, HEADER_LENGTH, "header length");
        expect(b, RECORD_LENGTH_OFFSET, RecordDescriptor.RECORD_LENGTH, "record length");
        expect(b, RING_HEADER_LENGTH_OFFSET, RING_HEADER_LENGTH, "ring header length");
        long count = Integer.toUnsignedLong(b.getInt(RING_COUNT_OFFSET));
        long capacity = Integer.toUnsignedLong(b.getInt(RING_CAPACITY_OFFSET));
        if (count == 0) {
            throw new ZoneFormatException("rings zone holds no ring");
        }
        if (Long.bitCount(capacity) != 1) {
            throw new ZoneFormatException("rings zone ring capacity is " + capacity + ", not a power of two");
        }
        long wakeRecords = Integer.toUnsignedLong(b.getInt(WAKE_RECORDS_OFFSET));
        if (wakeRecords == 0 || wakeRecords > capacity) {
            throw new ZoneFormatException("rings zone wake threshold is " + wakeRecords + " records, not 1.."
                + capacity);
        }
        long zoneLength = b.getLong(ZONE_LENGTH_OFFSET);
        if (zoneLength != b.capacity()) {
            throw new ZoneFormatException("rings zone length in header is " + Long.toUnsignedString(zoneLength)
                + " but the buffer has " + b.capacity() + " bytes");
        }
        long ringsEnd = HEADER_LENGTH + count * (RING_HEADER_LENGTH + capacity * RecordDescriptor.RECORD_LENGTH);
        long journalOffset = b.getLong(JOURNAL_OFFSET_OFFSET);
        long journalLength = b.getLong(JOURNAL_LENGTH_OFFSET);
        if (journalOffset < ringsEnd || journalOffset % Long.BYTES != 0 || journalLength < 0
                || journalLength > zoneLength - journalOffset) {
            throw new ZoneFormatException("rings zone journal of " + journalLength + " bytes at " + journalOffset
                + " is not 8-byte aligned between the last ring (ending at " + ringsEnd + ") and the zone's end ("
                + zoneLength + ")");
        }
        return new Rings(b, (int) count, (int) capacity, (int) wakeRecords, (int) journalOffset,
            (int) journalLength);
    }

    private static void expect(ByteBuffer b, int offset, int value, String name) throws ZoneFormatException {
        int v = b.getInt(offset);
        if (v != value) {
            throw new ZoneFormatException("rings zone " + name + " is " + Integer.toUnsignedString(v)
                + ", expected " + value);
        }
    }

    /** The journal at JOURNAL_OFFSET, over the counters zone and this one. */
    public Journal journal(SharedZone zone) {
        return new Journal(zone, buffer, journalOffset, journalLength);
    }

    public int count() {
        return count;
    }

    /** Records per ring, a power of two. */
    public int capacity() {
        return capacity;
    }

    /** The zone's bytes, native order: records are read from here. */
    public ByteBuffer buffer() {
        return buffer;
    }

    public int ringOffset(int ring) {
        return HEADER_LENGTH + ring * stride;
    }

    /** Byte offset of the slot of record {@code n} of a ring. */
    public int recordOffset(int ring, long n) {
        return ringOffset(ring) + RECORDS_OFFSET + (int) (n & (capacity - 1)) * RecordDescriptor.RECORD_LENGTH;
    }

    public long ownerPid(int ring) {
        return (long) LONGS.getAcquire(buffer, ringOffset(ring) + OWNER_PID_OFFSET);
    }

    /** The owner's ngx_worker; read after a HEAD that the owner published after writing it. */
    public int worker(int ring) {
        return buffer.getInt(ringOffset(ring) + WORKER_OFFSET);
    }

    public boolean closed(int ring) {
        return (long) LONGS.getAcquire(buffer, ringOffset(ring) + CLOSED_OFFSET) == CLOSED;
    }

    public long head(int ring) {
        return (long) LONGS.getAcquire(buffer, ringOffset(ring) + HEAD_OFFSET);
    }

    public long dropped(int ring) {
        return (long) LONGS.getAcquire(buffer, ringOffset(ring) + DROPPED_OFFSET);
    }

    public long tail(int ring) {
        return (long) LONGS.get(buffer, ringOffset(ring) + TAIL_OFFSET);
    }

    public long droppedSeen(int ring) {
        return (long) LONGS.get(buffer, ringOffset(ring) + DROPPED_SEEN_OFFSET);
    }

    /**
     * The drops not yet in the counters zone's DROPPED_RECORDS: NO_RING_DROPS
     * and every owned ring's DROPPED - DROPPED_SEEN.
     */
    public long pendingDrops() {
        long drops = (long) LONGS.getVolatile(buffer, NO_RING_DROPS_OFFSET);
        for (int i = 0; i < count; i++) {
            if (ownerPid(i) != 0) {
                drops += dropped(i) - droppedSeen(i);
            }
        }
        return drops;
    }

    /**
     * DRAINING: a stats process of {@code generation} drains and keeps pace,
     * so that of an older configuration may end (C waits for this in its
     * exit). It only ever grows.
     */
    public void announceDraining(long generation) {
        long seen = (long) LONGS.getVolatile(buffer, DRAINING_OFFSET);
        while (seen < generation && !LONGS.compareAndSet(buffer, DRAINING_OFFSET, seen, generation)) {
            seen = (long) LONGS.getVolatile(buffer, DRAINING_OFFSET);
        }
    }

    public long draining() {
        return (long) LONGS.getVolatile(buffer, DRAINING_OFFSET);
    }

    /** Records a ring holds when its worker wakes a sleeping drain thread (WAKE_RECORDS). */
    public int wakeRecords() {
        return wakeRecords;
    }

    /** The most records any owned ring holds now (HEAD - TAIL). */
    public long fullest() {
        long most = 0;
        for (int i = 0; i < count; i++) {
            if (ownerPid(i) != 0) {
                most = Math.max(most, head(i) - tail(i));
            }
        }
        return most;
    }

    /**
     * SLEEPING = 1, a volatile (sequentially consistent) store, before a
     * drain thread reads the HEADs and sleeps, so that a worker that
     * publishes after those reads sees it ({@link RingWait}); the worker
     * that wakes it sets 0.
     */
    public void announceSleep() {
        INTS.setVolatile(buffer, SLEEPING_OFFSET, 1);
    }

    long lockHolder() {
        return (long) LONGS.getVolatile(buffer, LOCK_OFFSET);
    }

    boolean compareAndSetLock(long expected, long pid) {
        return LONGS.compareAndSet(buffer, LOCK_OFFSET, expected, pid);
    }

    void releaseLock() {
        LONGS.setRelease(buffer, LOCK_OFFSET, 0L);
    }
}
