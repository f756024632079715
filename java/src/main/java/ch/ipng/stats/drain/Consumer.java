package ch.ipng.stats.drain;

import static ch.ipng.stats.layout.RingDescriptor.DROPPED_OFFSET;
import static ch.ipng.stats.layout.RingDescriptor.DROPPED_SEEN_OFFSET;
import static ch.ipng.stats.layout.RingDescriptor.HEAD_OFFSET;
import static ch.ipng.stats.layout.RingDescriptor.CLOSED_OFFSET;
import static ch.ipng.stats.layout.RingDescriptor.OWNER_PID_OFFSET;
import static ch.ipng.stats.layout.RingDescriptor.TAIL_OFFSET;
import static ch.ipng.stats.layout.RingDescriptor.WORKER_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.DROPPED_RECORDS_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.WORKER_FLUSHES_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.WORKER_FLUSH_BUCKETS_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.WORKER_FLUSH_SUM_NANOS_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.WORKER_PID_OFFSET;

import ch.ipng.stats.aggregate.Aggregator;
import ch.ipng.stats.zone.Journal;
import ch.ipng.stats.zone.SelfMetrics;
import ch.ipng.stats.zone.SharedZone;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongPredicate;

/**
 * Moves the records the workers publish in their rings into the counters
 * zone, every one exactly once, whichever process dies when. One per stats
 * process, shared by its drain thread and its scrapes.
 *
 * <h2>Algorithm</h2>
 * Producer (C, one per ring): {@code tail = load-acquire(TAIL)}; if the ring
 * is full, DROPPED += 1, else write the record at slot {@code head % C},
 * then store-release HEAD = head + 1. At exit: store-release CLOSED = 1.
 * <p>Consumer (here), all under {@link #lock}: the in-process lock, then
 * LOCK ({@link ProcessLock}), then {@link Journal#recover}. A transaction
 * ({@link #drainOnce}, {@link #drainToHeads}):
 * <ol>
 * <li>for every ring with OWNER_PID != 0, from the one the last transaction
 *     stopped at: records [TAIL, HEAD) into the {@link Aggregator}, as many
 *     as its tables and the journal take, keeping {@value #RING_STORES}
 *     entries per ring and {@value #GLOBAL_STORES} for this list's stores;
 *     a ring that still holds records ends the list;</li>
 * <li>the aggregator's flush (journalled adds); DROPPED - DROPPED_SEEN of
 *     those rings into DROPPED_RECORDS; per ring that gave records, a flush
 *     in the WORKER_TABLE entry of its WORKER, and its owner as PID;</li>
 * <li>TAIL and DROPPED_SEEN of each ring as redo stores, then the commit.</li>
 * </ol>
 * Release ({@link #releaseRings}), its own transaction: a ring whose owner
 * closed it or died and that is drained (TAIL == HEAD) gets its DROPPED
 * delta into DROPPED_RECORDS and HEAD, TAIL, DROPPED, DROPPED_SEEN, WORKER
 * and CLOSED set to 0 (undo stores: no producer is left); after the commit,
 * OWNER_PID = 0 (store-release, not journalled: a worker may claim the ring
 * as soon as it is 0, so it is never redone). A crash between the commit
 * and that store leaves a reset ring of its old owner, which the next
 * holder releases once the owner is gone (a worker closes its ring as it
 * exits).
 * <p>A transaction that throws leaves the journal open: the aggregator's
 * deltas are discarded, and the next holder (this process's next lock, or
 * another process) rolls the zones back; its records are drained again.
 *
 * <h2>Memory ordering</h2>
 * OWNER_PID, HEAD, DROPPED and CLOSED are read with acquire, so a record
 * and WORKER are visible once the HEAD published after them is; CLOSED is
 * read before HEAD, so a closed ring's HEAD is final. TAIL and DROPPED_SEEN
 * are written only by the LOCK holder and read plain. Every store is a
 * {@link Journal} store-release. LOCK's CAS orders everything the previous
 * holder stored before this holder's reads.
 */
public final class Consumer {

    /** Journal entries per ring drained in a transaction: flush metrics (3), PID, TAIL, DROPPED_SEEN. */
    static final int RING_STORES = 6;
    /** Journal entries of a transaction beside its rings' and the aggregator's: DROPPED_RECORDS. */
    static final int GLOBAL_STORES = 1;
    /* the words a release resets before it frees the ring */
    private static final int[] RESET = {HEAD_OFFSET, TAIL_OFFSET, DROPPED_OFFSET, DROPPED_SEEN_OFFSET, WORKER_OFFSET,
        CLOSED_OFFSET};

    private final SharedZone zone;
    private final Rings rings;
    private final Journal journal;
    private final Aggregator aggregator;
    private final ProcessLock processLock;
    private final LongPredicate alive;
    /* fair: a scrape waiting for the lock gets it before the drain thread's next pass */
    private final ReentrantLock local = new ReentrantLock(true);

    /* per ring of the current transaction, in the order drained (preallocated: no allocation per transaction) */
    private final int[] ringOf;
    private final long[] oldTail;
    private final long[] newTail;
    private final long[] oldSeen;
    private final long[] newSeen;
    /* the HEADs a scrape drains to */
    private final long[] limits;
    /* where the next transaction starts, so that a bounded one does not always favour the first rings */
    private int first;

    public Consumer(SharedZone zone, Rings rings, int[] tagBySource, long pid, LongPredicate alive) {
        this(zone, rings, tagBySource, pid, alive, Aggregator.DEFAULT_SERIES_CAPACITY,
            Aggregator.DEFAULT_CODE_CAPACITY);
    }

    /**
     * @param pid this process's (C passes it), what LOCK holds while it writes
     * @param alive whether a pid holding LOCK or owning a ring still runs ({@link Liveness#PROC})
     * @throws IllegalArgumentException if the journal cannot hold a transaction of one record
     */
    public Consumer(SharedZone zone, Rings rings, int[] tagBySource, long pid, LongPredicate alive,
                    int seriesCapacity, int codeCapacity) {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid " + pid);
        }
        this.zone = zone;
        this.rings = rings;
        this.journal = rings.journal(zone);
        this.aggregator = new Aggregator(zone, tagBySource, journal, seriesCapacity, codeCapacity);
        this.processLock = new ProcessLock(rings, pid, alive);
        this.alive = alive;
        if (aggregator.room(journal.capacity() - GLOBAL_STORES - RING_STORES) == 0) {
            throw new IllegalArgumentException("a journal of " + journal.capacity() + " entries cannot hold"
                + " a transaction of one record (" + (GLOBAL_STORES + RING_STORES + 1
                + aggregator.storesPerRecord()) + " entries)");
        }
        int n = rings.count();
        ringOf = new int[n];
        oldTail = new long[n];
        newTail = new long[n];
        oldSeen = new long[n];
        newSeen = new long[n];
        limits = new long[n];
    }

    /** The journal this consumer's stores go through. */
    public Journal journal() {
        return journal;
    }

    /** {@link #lock(long)} without a time limit. */
    public void lock() throws InterruptedException {
        lock(Long.MAX_VALUE);
    }

    /**
     * Takes the in-process lock and LOCK, waiting up to {@code timeoutNanos}
     * in all, then finishes what a holder that died left in the journal.
     * Returns whether it holds them ({@link #unlock} then).
     *
     * @throws IllegalStateException if this thread holds them already (the
     *     recovery would undo its own open transaction)
     */
    public boolean lock(long timeoutNanos) throws InterruptedException {
        if (local.isHeldByCurrentThread()) {
            throw new IllegalStateException("the drain lock is held by this thread already");
        }
        long deadline = System.nanoTime() + Math.min(timeoutNanos, Long.MAX_VALUE / 4);
        if (!local.tryLock(timeoutNanos, TimeUnit.NANOSECONDS)) {
            return false;
        }
        boolean locked = false;
        try {
            if (!processLock.acquire(deadline)) {
                return false;
            }
            locked = true;
            if (journal.recover()) {
                aggregator.discard();       // ours were deltas of what was just rolled back
            }
            return true;
        } catch (InterruptedException | RuntimeException | Error e) {
            if (locked) {
                processLock.release();
            }
            locked = false;
            throw e;
        } finally {
            if (!locked) {
                local.unlock();
            }
        }
    }

    public void unlock() {
        try {
            processLock.release();
        } finally {
            local.unlock();
        }
    }

    /**
     * One transaction over the records published so far. Returns whether a
     * ring still holds records it could not take (then the caller goes again
     * soon rather than in a poll interval).
     */
    public boolean drainOnce() {
        checkLocked();
        return transaction(null);
    }

    /** Drains every ring up to the HEAD it has now, in as many transactions as that takes. */
    public void drainToHeads() {
        checkLocked();
        for (int i = 0; i < limits.length; i++) {
            limits[i] = rings.ownerPid(i) == 0 ? rings.tail(i) : rings.head(i);
        }
        while (transaction(limits)) {
            // each transaction takes at least one record or drop (see transaction)
        }
    }

    /**
     * Releases the drained rings of owners that closed them, and with
     * {@code checkOwners} of owners that died (a read of /proc per owner, so
     * the drain thread asks once a second).
     */
    public void releaseRings(boolean checkOwners) {
        checkLocked();
        int released = 0;
        long drops = 0;
        for (int i = 0; i < rings.count(); i++) {
            long owner = rings.ownerPid(i);
            if (owner == 0 || !rings.closed(i) && !(checkOwners && !alive.test(owner))) {
                continue;
            }
            if (rings.head(i) != rings.tail(i)) {
                continue;                   // the next drain takes its records first
            }
            if (journal.free() < GLOBAL_STORES + RESET.length) {
                break;                      // the rest the next time
            }
            drops += rings.dropped(i) - rings.droppedSeen(i);
            int ring = rings.ringOffset(i);
            for (int field : RESET) {
                journal.putRing(ring + field, 0);
            }
            ringOf[released++] = i;
        }
        if (released == 0) {
            return;
        }
        journal.add(DROPPED_RECORDS_OFFSET, drops);
        journal.commit();
        for (int r = 0; r < released; r++) {
            journal.storeRing(rings.ringOffset(ringOf[r]) + OWNER_PID_OFFSET, 0);
        }
    }

    /** The pid holding LOCK, 0 if none (for a message). */
    public long lockHolder() {
        return processLock.holder();
    }

    /** The once-a-second EWMA tick (gauges, not journalled). */
    public void tick(long epochSecond) {
        checkLocked();
        zone.tick(epochSecond);
    }

    /** Drops still in the rings (see {@link Rings#pendingDrops}). */
    public long pendingDrops() {
        return rings.pendingDrops();
    }

    private void checkLocked() {
        if (!local.isHeldByCurrentThread()) {
            throw new IllegalStateException("the drain lock is not held");
        }
    }

    /** One transaction up to {@code limits} (null: the HEADs now); see the class comment. */
    private boolean transaction(long[] limits) {
        long start = System.nanoTime();
        try {
            int touched = 0;
            boolean more = false;
            int n = rings.count();
            for (int k = 0, i = first; k < n && !more; k++, i = i + 1 == n ? 0 : i + 1) {
                if (rings.ownerPid(i) == 0) {
                    continue;
                }
                long head = limits != null ? limits[i] : rings.head(i);
                long tail = rings.tail(i);
                long dropped = rings.dropped(i);
                long seen = rings.droppedSeen(i);
                if (head == tail && dropped == seen) {
                    continue;
                }
                if (head - tail < 0 || head - tail > rings.capacity()) {
                    throw new IllegalStateException("ring " + i + " of pid " + rings.ownerPid(i) + ": HEAD " + head
                        + " and TAIL " + tail + " are not 0.." + rings.capacity() + " records apart");
                }
                long t = take(i, tail, head, GLOBAL_STORES + (touched + 1) * RING_STORES);
                if (t != head) {
                    more = true;
                    first = i;
                    if (t == tail) {
                        break;              // no room for one more ring
                    }
                }
                ringOf[touched] = i;
                oldTail[touched] = tail;
                newTail[touched] = t;
                oldSeen[touched] = seen;
                newSeen[touched] = dropped;
                touched++;
            }
            if (touched == 0) {
                if (more) {
                    throw new IllegalStateException("a transaction of one record does not fit the journal");
                }
                return false;
            }
            commit(touched, start);
            return more;
        } catch (RuntimeException | Error e) {
            aggregator.discard();
            throw e;
        }
    }

    /** Ring i's records [tail, head) into the aggregator as far as they fit; returns the new TAIL. */
    private long take(int i, long tail, long head, int reserved) {
        int capacity = rings.capacity();
        long t = tail;
        while (t != head) {
            int slot = (int) (t & (capacity - 1));
            int piece = (int) Math.min(head - t, capacity - slot);
            int took = aggregator.drain(rings.buffer(), rings.recordOffset(i, t), piece, journal.free() - reserved);
            t += took;
            if (took < piece) {
                break;
            }
        }
        return t;
    }

    private void commit(int touched, long start) {
        aggregator.flush();
        long drops = 0;
        for (int r = 0; r < touched; r++) {
            drops += newSeen[r] - oldSeen[r];
        }
        journal.add(DROPPED_RECORDS_OFFSET, drops);
        long nanos = System.nanoTime() - start;
        for (int r = 0; r < touched; r++) {
            if (newTail[r] != oldTail[r]) {
                int i = ringOf[r];
                recordFlush(rings.worker(i), rings.ownerPid(i), nanos);
            }
        }
        for (int r = 0; r < touched; r++) {
            int ring = rings.ringOffset(ringOf[r]);
            if (newTail[r] != oldTail[r]) {
                journal.putRingOnCommit(ring + TAIL_OFFSET, newTail[r]);
            }
            if (newSeen[r] != oldSeen[r]) {
                journal.putRingOnCommit(ring + DROPPED_SEEN_OFFSET, newSeen[r]);
            }
        }
        journal.commit();
    }

    /** A flush of a worker's records into the zone: its WORKER_TABLE entry (3 + 1 journal entries). */
    private void recordFlush(int worker, long pid, long nanos) {
        int off = SharedZone.workerOffset(worker);
        journal.add(off + WORKER_FLUSH_BUCKETS_OFFSET + SelfMetrics.bucket(nanos) * Long.BYTES, 1);
        journal.add(off + WORKER_FLUSH_SUM_NANOS_OFFSET, nanos);
        journal.add(off + WORKER_FLUSHES_OFFSET, 1);
        journal.put(off + WORKER_PID_OFFSET, pid);
    }
}
