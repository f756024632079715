package ch.ipng.stats.zone;

import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_COMMITTED;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_ENTRY_LENGTH;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_ENTRY_VALUE_OFFSET;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_ENTRY_WHERE_OFFSET;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_HEADER_LENGTH;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_REDO_SHIFT;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_STATE_OFFSET;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_WHERE_RINGS;

import ch.ipng.stats.layout.ZoneDescriptor;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The journal of the stats process's transactions (layout: RingDescriptor,
 * JOURNAL): every store a transaction makes to the counters zone or the
 * rings zone goes through here, so that a stats process killed at any
 * instruction leaves the next one enough to finish its work or undo it.
 * Only the holder of the rings zone's LOCK uses it, from one thread.
 *
 * <h2>Algorithm</h2>
 * A transaction is a run of undo stores, then redo stores, then a commit.
 * <ul>
 * <li>Undo store ({@link #add}, {@link #put}, {@link #putRing}): entry n =
 *     (where, old value), JOURNAL_STATE = n + 1, then the store. Used for
 *     every word no other process writes while LOCK is held: the counters,
 *     and the header words of a ring whose owner is gone.</li>
 * <li>Redo store ({@link #putRingOnCommit}): entry = (where, new value), not
 *     stored yet. Used for a live ring's TAIL and DROPPED_SEEN: once TAIL
 *     has moved, the producer may overwrite the slots behind it, so a TAIL
 *     must never move back; it moves only after the commit point.</li>
 * <li>Commit ({@link #commit}): JOURNAL_STATE = COMMITTED | m &lt;&lt; 32 | n
 *     (the commit point), the m redo stores in order, JOURNAL_STATE = 0.</li>
 * <li>Recovery ({@link #recover}, by the next LOCK holder before anything
 *     else): committed: the redo stores again, in order; open: the undo
 *     entries from the last to the first, restoring every word whose value
 *     differs from the old one; then JOURNAL_STATE = 0. Both are
 *     idempotent (between the crash and the recovery no one else writes
 *     those words), so a recovery that dies is recovered again.</li>
 * </ul>
 *
 * <h2>Memory ordering</h2>
 * Entry words are plain stores; every JOURNAL_STATE store and every store
 * to a zone word is a {@code setRelease}, so an entry is visible before the
 * count that covers it, and that count before the word it journals. The
 * next holder reads JOURNAL_STATE with {@code getAcquire} after the CAS
 * that took LOCK. A redo store to TAIL is the store-release the producer's
 * load-acquire of TAIL pairs with.
 */
public final class Journal {

    private static final VarHandle LONGS =
        MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    private static final long COUNT_MASK = (1L << JOURNAL_REDO_SHIFT) - 1;

    /** Thrown instead of a store after {@link #interruptAfter}: the process "died" there. */
    public static final class Interrupted extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Interrupted() {
            super("interrupted by the test", null, false, false);
        }
    }

    private final ByteBuffer zone;
    private final ByteBuffer rings;
    private final int state;
    private final int entries;
    private final int capacity;
    /* words a valid entry may name: the counters zone after its header, the rings zone before the journal */
    private final int zoneEnd;
    private final int ringsEnd;
    private int undo;
    private int redo;
    private long storesLeft = Long.MAX_VALUE;

    /**
     * The journal of {@code length} bytes at {@code offset} in the rings zone.
     *
     * @throws IllegalArgumentException if it is unaligned, outside the buffer or smaller than two entries
     */
    public Journal(SharedZone zone, ByteBuffer rings, int offset, int length) {
        if (offset < 0 || offset % Long.BYTES != 0 || length < JOURNAL_HEADER_LENGTH + 2 * JOURNAL_ENTRY_LENGTH
                || (long) offset + length > rings.capacity()) {
            throw new IllegalArgumentException("journal of " + length + " bytes at " + offset
                + " does not fit a rings zone of " + rings.capacity() + " bytes");
        }
        this.zone = zone.buffer();
        this.rings = rings;
        this.state = offset + JOURNAL_STATE_OFFSET;
        this.entries = offset + JOURNAL_HEADER_LENGTH;
        this.capacity = (length - JOURNAL_HEADER_LENGTH) / JOURNAL_ENTRY_LENGTH;
        this.zoneEnd = this.zone.capacity() - Long.BYTES;
        this.ringsEnd = offset - Long.BYTES;
    }

    /** Entries a transaction may use. */
    public int capacity() {
        return capacity;
    }

    /** Entries the open transaction has left. */
    public int free() {
        return capacity - undo - redo;
    }

    /** Adds {@code delta} to the counters zone word at {@code offset}, journalled; 0 changes nothing. */
    public void add(int offset, long delta) {
        if (delta != 0) {
            long old = (long) LONGS.get(zone, offset);
            undo(offset, old);
            store(zone, offset, old + delta);
        }
    }

    /** Sets the counters zone word at {@code offset}, journalled, if it differs. */
    public void put(int offset, long value) {
        long old = (long) LONGS.get(zone, offset);
        if (old != value) {
            undo(offset, old);
            store(zone, offset, value);
        }
    }

    /** Sets the rings zone word at {@code offset}, journalled, if it differs: a word no producer writes now. */
    public void putRing(int offset, long value) {
        long old = (long) LONGS.get(rings, offset);
        if (old != value) {
            undo(JOURNAL_WHERE_RINGS | offset, old);
            store(rings, offset, value);
        }
    }

    /** Sets the rings zone word at {@code offset} once the transaction is committed (see the class comment). */
    public void putRingOnCommit(int offset, long value) {
        if (undo + redo == capacity) {
            throw new IllegalStateException("journal full: " + capacity + " entries");
        }
        int e = entries + (undo + redo) * JOURNAL_ENTRY_LENGTH;
        step();
        LONGS.set(rings, e + JOURNAL_ENTRY_WHERE_OFFSET, JOURNAL_WHERE_RINGS | offset);
        step();
        LONGS.set(rings, e + JOURNAL_ENTRY_VALUE_OFFSET, value);
        redo++;
    }

    /**
     * A store-release to the rings zone outside any transaction, for a word
     * whose store a crash may lose without harm (the release of a ring that
     * the next holder releases again). Made here so that
     * {@link #interruptAfter} reaches it too.
     */
    public void storeRing(int offset, long value) {
        store(rings, offset, value);
    }

    /** Makes the open transaction permanent: the commit point, then its redo stores. */
    public void commit() {
        if (undo == 0 && redo == 0) {
            return;
        }
        if (redo != 0) {
            step();
            LONGS.setRelease(rings, state, JOURNAL_COMMITTED | (long) redo << JOURNAL_REDO_SHIFT | undo);
            apply(undo, undo + redo);
        }
        step();
        LONGS.setRelease(rings, state, 0L);
        undo = 0;
        redo = 0;
    }

    /**
     * Finishes what a holder that died left: applies the redo stores of a
     * committed transaction, or undoes an open one. Returns whether there
     * was one.
     *
     * @throws IllegalStateException when an entry names a word outside the
     *     zones' Java-owned words: nothing is restored, the journal is emptied
     */
    public boolean recover() {
        undo = 0;
        redo = 0;
        long s = (long) LONGS.getAcquire(rings, state);
        if (s == 0) {
            return false;
        }
        boolean committed = (s & JOURNAL_COMMITTED) != 0;
        long n = s & COUNT_MASK;
        long m = committed ? (s & ~JOURNAL_COMMITTED) >>> JOURNAL_REDO_SHIFT : 0;
        String bad = n + m > capacity ? "state 0x" + Long.toHexString(s) + " counts more than "
            + capacity + " entries" : invalidEntry((int) (n + m));
        if (bad != null) {
            step();
            LONGS.setRelease(rings, state, 0L);
            throw new IllegalStateException("journal " + bad + ": its transaction is dropped, counts may be off");
        }
        if (committed) {
            apply((int) n, (int) (n + m));
        } else {
            for (int k = (int) n - 1; k >= 0; k--) {
                long where = where(k);
                long old = value(k);
                ByteBuffer b = (where & JOURNAL_WHERE_RINGS) != 0 ? rings : zone;
                int off = (int) (where & ~JOURNAL_WHERE_RINGS);
                if ((long) LONGS.get(b, off) != old) {
                    store(b, off, old);
                }
            }
        }
        step();
        LONGS.setRelease(rings, state, 0L);
        return true;
    }

    /**
     * Tests: after {@code stores} more stores (entries, state, zone words)
     * every store throws {@link Interrupted} instead, as if the process had
     * died right there.
     */
    public void interruptAfter(long stores) {
        storesLeft = stores;
    }

    private void undo(long where, long old) {
        if (redo != 0) {
            throw new IllegalStateException("an undo store after the redo stores");
        }
        if (undo == capacity) {
            throw new IllegalStateException("journal full: " + capacity + " entries");
        }
        int e = entries + undo * JOURNAL_ENTRY_LENGTH;
        step();
        LONGS.set(rings, e + JOURNAL_ENTRY_WHERE_OFFSET, where);
        step();
        LONGS.set(rings, e + JOURNAL_ENTRY_VALUE_OFFSET, old);
        step();
        LONGS.setRelease(rings, state, (long) undo + 1);
        undo++;
    }

    private void apply(int from, int to) {
        for (int k = from; k < to; k++) {
            long where = where(k);
            store((where & JOURNAL_WHERE_RINGS) != 0 ? rings : zone, (int) (where & ~JOURNAL_WHERE_RINGS), value(k));
        }
    }

    private void store(ByteBuffer b, int offset, long value) {
        step();
        LONGS.setRelease(b, offset, value);
    }

    private void step() {
        if (--storesLeft < 0) {
            throw new Interrupted();
        }
    }

    private long where(int k) {
        return (long) LONGS.get(rings, entries + k * JOURNAL_ENTRY_LENGTH + JOURNAL_ENTRY_WHERE_OFFSET);
    }

    private long value(int k) {
        return (long) LONGS.get(rings, entries + k * JOURNAL_ENTRY_LENGTH + JOURNAL_ENTRY_VALUE_OFFSET);
    }

    /** The first of entries [0, count) that names no word of the zones' Java-owned parts, or null. */
    private String invalidEntry(int count) {
        for (int k = 0; k < count; k++) {
            long where = where(k);
            long off = where & ~JOURNAL_WHERE_RINGS;
            boolean ring = (where & JOURNAL_WHERE_RINGS) != 0;
            long lowest = ring ? 0 : ZoneDescriptor.GLOBALS_OFFSET;
            if (off % Long.BYTES != 0 || off < lowest || off > (ring ? ringsEnd : zoneEnd)) {
                return "entry " + k + " names " + (ring ? "rings" : "counters") + " zone offset " + off;
            }
        }
        return null;
    }
}
