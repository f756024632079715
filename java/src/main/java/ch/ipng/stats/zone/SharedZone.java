package ch.ipng.stats.zone;

import static ch.ipng.stats.layout.ZoneDescriptor.*;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The shared table over the counters zone (layout:
 * {@link ch.ipng.stats.layout.ZoneDescriptor}). Its writers are stats
 * processes, one at a time (the rings zone's LOCK, see
 * {@code ch.ipng.stats.drain.Consumer}); the counters are stored through
 * the {@link Journal}, which this class reads for. The claims below stay
 * atomic operations on 8-byte aligned words (a ByteBuffer view VarHandle):
 * they cost nothing extra, are never rolled back (a claimed key is found
 * again by the transaction that is drained again), and a claimer killed
 * mid-claim blocks no one.
 *
 * <h2>Algorithm</h2>
 * Three append-only open-addressing tables with linear probing, start slot
 * {@code Long.remainderUnsigned(hash, capacity)} ({@link ZoneHash}); slots are
 * never freed:
 * <ul>
 * <li>TAG_TABLE (256 entries): state 0 -> CAS to BUSY (1) -> write the UTF-8
 *     text -> setRelease READY ({@code 2 | len << 8}).</li>
 * <li>SERIES_TABLE, one slot per (tag, family, address): STATE 0 -> CAS to
 *     BUSY -> write ADDR_HI/ADDR_LO -> setRelease READY
 *     ({@code 1<<62 | tag<<8 | family}). A reader that sees BUSY spins
 *     ({@link Thread#onSpinWait}) up to {@value #SPIN_LIMIT} times, then treats
 *     the slot as not matching and probes on: a claimer killed mid-claim leaks
 *     one slot and never blocks anyone.</li>
 * <li>CODE_TABLE, one slot per (series, status): KEY 0 -> one CAS to
 *     {@code (series + 1) << 16 | status}; the key is the whole claim.</li>
 * </ul>
 * Before claiming an empty slot a writer reserves room by
 * {@code getAndAdd(USED, 1)}; if USED would exceed 7/8 of the capacity it
 * gives the reservation back, increments ZONE_FULL_EVENTS and drops the key
 * (existing keys keep counting). A reservation not needed in the end (another
 * process claimed the same key first) is given back. USED therefore never
 * exceeds 7/8 of the capacity, so every probe sequence meets an empty slot.
 *
 * <h2>Memory ordering</h2>
 * Claims are {@code compareAndSet} (volatile). Key words written by a claimer
 * before its {@code setRelease} of the state are read by others after a
 * {@code getAcquire} of that state, so a READY state implies a visible key.
 * Counters are stored with {@code setRelease} by the Journal and read here
 * with {@code getVolatile}; a scrape reads them under the same lock, after
 * the last commit, so it never sees a transaction half done. The EWMA words
 * (RATE_*) and RATE_SNAPSHOT are written only by the caller that won the
 * CAS on RATE_TICK_SECOND, with {@code setRelease}.
 */
public final class SharedZone {

    /** How long a reader waits for a BUSY slot before probing past it. */
    public static final int SPIN_LIMIT = 1 << 20;

    private static final VarHandle LONGS =
        MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private static final double[] RATE_TAUS = {1.0, 10.0, 60.0};

    private final ByteBuffer buffer;
    private final ZoneGeometry geometry;
    private final long[] bounds;
    private final int statusMode;
    private final long shmSize;
    /* bits of a code slot index in claimedCodes()'s entries */
    private final int codeSlotBits;
    /* the last complete lists of claimed slots (see claimedSeries); immutable, replaced whole */
    private volatile Claimed seriesClaimed = Claimed.NONE;
    private volatile Claimed codesClaimed = Claimed.NONE;

    private SharedZone(ByteBuffer buffer, ZoneGeometry geometry, long[] bounds, int statusMode, long shmSize) {
        this.buffer = buffer;
        this.geometry = geometry;
        this.bounds = bounds;
        this.statusMode = statusMode;
        this.shmSize = shmSize;
        this.codeSlotBits = 32 - Integer.numberOfLeadingZeros(geometry.codeCapacity);
    }

    /**
     * Validates the header written by C and returns the table over it.
     *
     * @throws ZoneFormatException naming the first field that differs; the zone is not written
     */
    public static SharedZone open(ByteBuffer zone) throws ZoneFormatException {
        if (zone == null || !zone.isDirect()) {
            throw new ZoneFormatException("zone is not a direct ByteBuffer");
        }
        ByteBuffer b = zone.duplicate().order(ByteOrder.nativeOrder());
        b.clear();
        if (b.capacity() < HEADER_LENGTH) {
            throw new ZoneFormatException("zone too small for its header: " + b.capacity() + " bytes");
        }
        if (b.alignmentOffset(0, Long.BYTES) != 0) {
            throw new ZoneFormatException("zone address is not 8-byte aligned");
        }
        long magic = b.getLong(MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new ZoneFormatException(String.format(
                "zone magic is 0x%016x, expected 0x%016x", magic, MAGIC));
        }
        int version = b.getInt(LAYOUT_VERSION_OFFSET);
        if (version != LAYOUT_VERSION) {
            throw new ZoneFormatException("zone layout version is " + Integer.toUnsignedString(version)
                + ", this jar speaks " + LAYOUT_VERSION);
        }
        int headerLength = b.getInt(HEADER_LENGTH_OFFSET);
        if (headerLength != HEADER_LENGTH) {
            throw new ZoneFormatException("zone header length is " + Integer.toUnsignedString(headerLength)
                + ", expected " + HEADER_LENGTH);
        }
        long zoneLength = b.getLong(ZONE_LENGTH_OFFSET);
        if (zoneLength != b.capacity()) {
            throw new ZoneFormatException("zone length in header is " + Long.toUnsignedString(zoneLength)
                + " but the buffer has " + b.capacity() + " bytes");
        }
        int bucketCount = b.getInt(BUCKET_COUNT_OFFSET);
        if (bucketCount < MIN_BUCKETS || bucketCount > MAX_BUCKETS) {
            throw new ZoneFormatException("zone bucket count is " + Integer.toUnsignedString(bucketCount)
                + ", expected " + MIN_BUCKETS + ".." + MAX_BUCKETS);
        }
        int statusMode = b.getInt(STATUS_MODE_OFFSET);
        if (statusMode != STATUS_MODE_EXACT && statusMode != STATUS_MODE_CLASSES) {
            throw new ZoneFormatException("zone status mode is " + Integer.toUnsignedString(statusMode)
                + ", expected 0 or 1");
        }
        long[] bounds = new long[bucketCount];
        for (int i = 0; i < bucketCount; i++) {
            bounds[i] = b.getLong(BUCKET_BOUNDS_OFFSET + i * Long.BYTES);
            if (bounds[i] <= 0 || (i > 0 && bounds[i] <= bounds[i - 1])) {
                throw new ZoneFormatException("zone bucket bounds are not positive and strictly increasing at index "
                    + i + " (" + Long.toUnsignedString(bounds[i]) + ")");
            }
        }
        ZoneGeometry geometry = ZoneGeometry.of(zoneLength, bucketCount);
        if (geometry.codeCapacity < FULL_DENOMINATOR || geometry.requiredLength() > zoneLength) {
            throw new ZoneFormatException("zone of " + zoneLength + " bytes is too small for any series");
        }
        long shmSize = b.getLong(SHM_SIZE_OFFSET);
        return new SharedZone(b, geometry, bounds, statusMode, Math.max(shmSize, zoneLength));
    }

    public ZoneGeometry geometry() {
        return geometry;
    }

    /** The zone's bytes, for the {@link Journal} that writes its counters. */
    ByteBuffer buffer() {
        return buffer;
    }

    /** Finite histogram bounds in milliseconds (a copy). */
    public long[] bounds() {
        return bounds.clone();
    }

    public int statusMode() {
        return statusMode;
    }

    // ---------------------------------------------------------------- words

    public long getVolatile(int offset) {
        return (long) LONGS.getVolatile(buffer, offset);
    }

    public void add(int offset, long delta) {
        LONGS.getAndAdd(buffer, offset, delta);
    }

    public double getDouble(int offset) {
        return Double.longBitsToDouble(getVolatile(offset));
    }

    // ----------------------------------------------------------------- tags

    /**
     * Interns a tag. Returns its index in the TAG_TABLE, or -1 when the table
     * has no room (255 tags; ZONE_FULL_EVENTS is incremented).
     *
     * @throws IllegalArgumentException if the tag is longer than 64 UTF-8 bytes
     */
    public int internTag(String tag) {
        byte[] text = tag.getBytes(StandardCharsets.UTF_8);
        if (text.length > TAG_MAX_BYTES) {
            throw new IllegalArgumentException("source tag longer than " + TAG_MAX_BYTES + " bytes: " + tag);
        }
        long ready = TAG_READY | (long) text.length << 8;
        int i = ZoneHash.index(ZoneHash.tag(text), TAG_CAPACITY);
        boolean reserved = false;
        for (int probe = 0; probe < TAG_CAPACITY; probe++, i = (i + 1) % TAG_CAPACITY) {
            int off = TAG_TABLE_OFFSET + i * TAG_ENTRY_LENGTH;
            long state = awaitNot(off, TAG_BUSY);
            if (state == TAG_EMPTY) {
                if (!reserved) {
                    if (!reserve(TAGS_USED_OFFSET, TAG_CAPACITY - 1)) {
                        return dropped();
                    }
                    reserved = true;
                }
                if (LONGS.compareAndSet(buffer, off, TAG_EMPTY, TAG_BUSY)) {
                    for (int k = 0; k < text.length; k++) {
                        buffer.put(off + TAG_TEXT_OFFSET + k, text[k]);
                    }
                    LONGS.setRelease(buffer, off, ready);
                    return i;
                }
                state = awaitNot(off, TAG_BUSY);
            }
            if (state == ready && tagEquals(off, text)) {
                if (reserved) {
                    add(TAGS_USED_OFFSET, -1);
                }
                return i;
            }
        }
        if (reserved) {
            add(TAGS_USED_OFFSET, -1);
        }
        return dropped();
    }

    /** The UTF-8 bytes of a ready tag, or null. */
    public byte[] tagBytes(int index) {
        int off = TAG_TABLE_OFFSET + index * TAG_ENTRY_LENGTH;
        long state = (long) LONGS.getAcquire(buffer, off);
        if ((state & 0xff) != TAG_READY) {
            return null;
        }
        int len = (int) Math.min(state >>> 8, TAG_TEXT_LENGTH);
        byte[] text = new byte[len];
        for (int k = 0; k < len; k++) {
            text[k] = buffer.get(off + TAG_TEXT_OFFSET + k);
        }
        return text;
    }

    private boolean tagEquals(int off, byte[] text) {
        for (int k = 0; k < text.length; k++) {
            if (buffer.get(off + TAG_TEXT_OFFSET + k) != text[k]) {
                return false;
            }
        }
        return true;
    }

    // --------------------------------------------------------------- series

    /** READY state word of a series key. */
    public static long seriesState(int tagIndex, int family) {
        return SERIES_READY | (long) tagIndex << 8 | family;
    }

    /**
     * Finds or claims the series slot of (tag, family, address). Returns the
     * slot index, or -1 when the key is new and the table is full (the key is
     * dropped and ZONE_FULL_EVENTS incremented).
     */
    public int findOrClaimSeries(int tagIndex, int family, long addrHi, long addrLo) {
        long ready = seriesState(tagIndex, family);
        int capacity = geometry.seriesCapacity;
        int i = ZoneHash.index(ZoneHash.series(tagIndex, family, addrHi, addrLo), capacity);
        boolean reserved = false;
        for (int probe = 0; probe < capacity; probe++, i = next(i, capacity)) {
            int off = geometry.seriesOffset(i);
            long state = awaitNot(off, SERIES_BUSY);
            if (state == SERIES_EMPTY) {
                if (!reserved) {
                    if (!reserve(SERIES_USED_OFFSET, geometry.seriesLimit)) {
                        return dropped();
                    }
                    reserved = true;
                }
                if (LONGS.compareAndSet(buffer, off, SERIES_EMPTY, SERIES_BUSY)) {
                    LONGS.set(buffer, off + SERIES_ADDR_HI_OFFSET, addrHi);
                    LONGS.set(buffer, off + SERIES_ADDR_LO_OFFSET, addrLo);
                    LONGS.setRelease(buffer, off, ready);
                    return i;
                }
                state = awaitNot(off, SERIES_BUSY);
            }
            if (state == ready
                && (long) LONGS.get(buffer, off + SERIES_ADDR_HI_OFFSET) == addrHi
                && (long) LONGS.get(buffer, off + SERIES_ADDR_LO_OFFSET) == addrLo) {
                if (reserved) {
                    add(SERIES_USED_OFFSET, -1);
                }
                return i;
            }
        }
        if (reserved) {
            add(SERIES_USED_OFFSET, -1);
        }
        return dropped();
    }

    /** STATE of a series slot (acquire); READY states have bit 62 set and bit 63 clear. */
    public long seriesStateAt(int index) {
        return (long) LONGS.getAcquire(buffer, geometry.seriesOffset(index));
    }

    public static boolean isReady(long state) {
        return (state & (SERIES_READY | SERIES_BUSY)) == SERIES_READY;
    }

    public long seriesAddrHi(int index) {
        return (long) LONGS.get(buffer, geometry.seriesOffset(index) + SERIES_ADDR_HI_OFFSET);
    }

    public long seriesAddrLo(int index) {
        return (long) LONGS.get(buffer, geometry.seriesOffset(index) + SERIES_ADDR_LO_OFFSET);
    }

    /** Offset of the duration (which = 0) or upstream (which = 1) histogram of a series. */
    public int histogramOffset(int seriesIndex, int which) {
        return geometry.seriesOffset(seriesIndex) + SERIES_HISTOGRAMS_OFFSET
            + which * geometry.histogramWords * Long.BYTES;
    }

    // ---------------------------------------------------------------- codes

    public static long codeKey(int seriesIndex, int status) {
        return (long) (seriesIndex + 1) << 16 | (status & 0xffff);
    }

    /**
     * Finds or claims the code slot of (series, status). Returns the slot
     * index, or -1 when the key is new and the table is full.
     */
    public int findOrClaimCode(int seriesIndex, int status) {
        long key = codeKey(seriesIndex, status);
        int capacity = geometry.codeCapacity;
        int i = ZoneHash.index(ZoneHash.code(key), capacity);
        boolean reserved = false;
        for (int probe = 0; probe < capacity; probe++, i = next(i, capacity)) {
            int off = geometry.codeOffset(i) + CODE_KEY_OFFSET;
            long k = (long) LONGS.getAcquire(buffer, off);
            if (k == 0) {
                if (!reserved) {
                    if (!reserve(CODE_KEYS_USED_OFFSET, geometry.codeLimit)) {
                        return dropped();
                    }
                    reserved = true;
                }
                if (LONGS.compareAndSet(buffer, off, 0L, key)) {
                    return i;
                }
                k = (long) LONGS.getAcquire(buffer, off);
            }
            if (k == key) {
                if (reserved) {
                    add(CODE_KEYS_USED_OFFSET, -1);
                }
                return i;
            }
        }
        if (reserved) {
            add(CODE_KEYS_USED_OFFSET, -1);
        }
        return dropped();
    }

    public long codeKeyAt(int index) {
        return (long) LONGS.getAcquire(buffer, geometry.codeOffset(index) + CODE_KEY_OFFSET);
    }

    // ---------------------------------------------------------------- rates

    /**
     * Advances every series' EWMA rates to {@code epochSecond}, if this caller
     * wins the CAS on RATE_TICK_SECOND. With k seconds since the last tick and
     * delta requests (duration COUNT growth) in them, for tau in 1, 10, 60:
     * {@code rate = rate * e^(-k/tau) + (delta / k) * (1 - e^(-k/tau))}.
     * The very first tick only takes the snapshots.
     *
     * @return whether this caller did the tick
     */
    public boolean tick(long epochSecond) {
        long last = getVolatile(RATE_TICK_SECOND_OFFSET);
        if (epochSecond <= last || !LONGS.compareAndSet(buffer, RATE_TICK_SECOND_OFFSET, last, epochSecond)) {
            return false;
        }
        long k = last == 0 ? 0 : epochSecond - last;
        double[] decay = new double[RATE_TAUS.length];
        for (int t = 0; t < decay.length; t++) {
            decay[t] = Math.exp(-k / RATE_TAUS[t]);
        }
        int countWord = (geometry.histogramWords - 1) * Long.BYTES;
        for (long slot : claimedSeries()) {
            int i = (int) slot;
            int off = geometry.seriesOffset(i);
            long count = getVolatile(histogramOffset(i, 0) + countWord);
            long delta = count - (long) LONGS.getVolatile(buffer, off + SERIES_RATE_SNAPSHOT_OFFSET);
            LONGS.setRelease(buffer, off + SERIES_RATE_SNAPSHOT_OFFSET, count);
            if (k == 0) {
                continue;
            }
            double perSecond = (double) delta / k;
            for (int t = 0; t < decay.length; t++) {
                int rateOff = off + SERIES_RATE_1S_OFFSET + t * Long.BYTES;
                double rate = getDouble(rateOff);
                rate = rate * decay[t] + perSecond * (1 - decay[t]);
                LONGS.setRelease(buffer, rateOff, Double.doubleToRawLongBits(rate));
            }
        }
        return true;
    }

    // -------------------------------------------------------- claimed slots

    /*
     * A scrape or tick that walked every slot of a 4m zone to find 200 series
     * and 12,000 codes read 2 MB of mostly empty slots (about 1.2 ms of a
     * one-key scrape, and grows with the zone, not the keys). Slots are never
     * freed and a claimed key never changes, so the list of claimed slots is
     * kept and walked again for as long as no slot is claimed after it.
     *
     * Why the USED counters tell: a claimer reserves (USED + 1) before it
     * claims and gives a reservation back only when it claimed nothing, so
     * USED >= claimed slots at every moment. A walk that finds as many
     * claimed slots as USED holds right after it has found every claimed slot
     * (found <= claimed <= USED), with no claim in flight; later claims raise
     * USED, so a list is reused while USED still equals its count. A walk that
     * meets a claim in flight (or a claimer that died between reserving and
     * claiming) finds fewer, keeps nothing, and the next caller walks again.
     */
    private static final class Claimed {
        static final Claimed NONE = new Claimed(-1, new long[0], new int[0]);

        final long used;
        final long[] entries;
        /* codes: indices into entries by ascending slot (see claimedCodeSlotOrder); series: null */
        final int[] order;

        Claimed(long used, long[] entries, int[] order) {
            this.used = used;
            this.entries = entries;
            this.order = order;
        }
    }

    /**
     * The indices of the READY series slots, ascending: the last complete list
     * while SERIES_USED has not moved, else a walk of the table. Read-only
     * (shared with other callers); the slots' counters are read by the caller.
     */
    public long[] claimedSeries() {
        return claimed(true);
    }

    /**
     * Every claimed code slot as {@code key << codeSlotBits() | slot}, ascending,
     * so by series slot, then status (see {@link #claimedSeries} for when
     * the table is walked). A zone is at most 2 GB: the key (series slot
     * + 1, 16 bits of status) and the slot fit in 63 bits.
     */
    public long[] claimedCodes() {
        return claimed(false);
    }

    private long[] claimed(boolean series) {
        Claimed kept = series ? seriesClaimed : codesClaimed;
        int usedOffset = series ? SERIES_USED_OFFSET : CODE_KEYS_USED_OFFSET;
        if (kept.used == getVolatile(usedOffset)) {
            return kept.entries;
        }
        int capacity = series ? geometry.seriesCapacity : geometry.codeCapacity;
        long[] found = new long[Math.max(16, (int) (series ? seriesUsed() : codesUsed()))];
        int n = 0;
        for (int i = 0; i < capacity; i++) {
            long entry = series ? (isReady(seriesStateAt(i)) ? i : -1) : codeEntry(i);
            if (entry >= 0) {
                if (n == found.length) {
                    found = Arrays.copyOf(found, n * 2);
                }
                found[n++] = entry;
            }
        }
        Arrays.sort(found, 0, n);
        long[] entries = n == found.length ? found : Arrays.copyOf(found, n);
        long used = getVolatile(usedOffset);
        if (used == n) {    // complete: see Claimed
            if (series) {
                seriesClaimed = new Claimed(used, entries, null);
            } else {
                codesClaimed = new Claimed(used, entries, slotOrder(entries));
            }
        }
        return entries;
    }

    /**
     * Indices into {@code codes} (a list {@link #claimedCodes} returned) by
     * ascending slot: the order to read the slots' counters in. A scrape
     * comes every few seconds and finds the zone out of the CPU's caches;
     * read in key order, 12,000 codes were 12,000 misses spread over the
     * table (2.5 ms of a snapshot against 0.5 ms with warm caches), read in
     * memory order the hardware prefetcher runs ahead.
     */
    public int[] claimedCodeSlotOrder(long[] codes) {
        Claimed kept = codesClaimed;
        return kept.entries == codes ? kept.order : slotOrder(codes);
    }

    private int[] slotOrder(long[] codes) {
        long slotMask = (1L << codeSlotBits) - 1;
        long[] bySlot = new long[codes.length];
        for (int k = 0; k < codes.length; k++) {
            bySlot[k] = (codes[k] & slotMask) << 32 | k;
        }
        Arrays.sort(bySlot);
        int[] order = new int[codes.length];
        for (int j = 0; j < order.length; j++) {
            order[j] = (int) bySlot[j];
        }
        return order;
    }

    /** {@code key << codeSlotBits | slot} of a claimed code slot, -1 for an empty one. */
    private long codeEntry(int slot) {
        long key = codeKeyAt(slot);
        return key == 0 ? -1 : key << codeSlotBits | slot;
    }

    /** Bits of the slot index in {@link #claimedCodes}' entries. */
    public int codeSlotBits() {
        return codeSlotBits;
    }

    // --------------------------------------------------------- self-metrics

    /** Entry offset of a worker number (numbers >= 128 share entry 127). */
    public static int workerOffset(int worker) {
        int w = Math.max(0, Math.min(worker, WORKER_CAPACITY - 1));
        return WORKER_TABLE_OFFSET + w * WORKER_ENTRY_LENGTH;
    }

    public void recordScrape(long nanos) {
        add(SCRAPE_BUCKETS_OFFSET + SelfMetrics.bucket(nanos) * Long.BYTES, 1);
        add(SCRAPE_SUM_NANOS_OFFSET, nanos);
        add(SCRAPE_COUNT_OFFSET, 1);
    }

    public long ifindexMisses() {
        return getVolatile(IFINDEX_MISSES_OFFSET);
    }

    /** DROPPED_RECORDS: records workers dropped, as far as the stats process moved them here. */
    public long droppedRecords() {
        return getVolatile(DROPPED_RECORDS_OFFSET);
    }

    public long zoneFullEvents() {
        return getVolatile(ZONE_FULL_EVENTS_OFFSET);
    }

    public long seriesUsed() {
        return Math.max(0, Math.min(getVolatile(SERIES_USED_OFFSET), geometry.seriesCapacity));
    }

    public long codesUsed() {
        return Math.max(0, Math.min(getVolatile(CODE_KEYS_USED_OFFSET), geometry.codeCapacity));
    }

    /** The whole nginx shared zone (SHM_SIZE). */
    public long bytesTotal() {
        return shmSize;
    }

    /** nginx's part of the segment plus the header, fixed tables and claimed slots. */
    public long bytesUsed() {
        return (shmSize - geometry.zoneLength) + SERIES_TABLE_OFFSET
            + seriesUsed() * geometry.seriesLength + codesUsed() * CODE_SLOT_LENGTH;
    }

    // -------------------------------------------------------------- helpers

    private static int next(int i, int capacity) {
        return i + 1 == capacity ? 0 : i + 1;
    }

    private long awaitNot(int off, long busy) {
        long state = (long) LONGS.getAcquire(buffer, off);
        for (int spins = 0; state == busy && spins < SPIN_LIMIT; spins++) {
            Thread.onSpinWait();
            state = (long) LONGS.getAcquire(buffer, off);
        }
        return state;
    }

    private boolean reserve(int usedOffset, long limit) {
        long used = (long) LONGS.getAndAdd(buffer, usedOffset, 1L) + 1;
        if (used > limit) {
            add(usedOffset, -1);
            return false;
        }
        return true;
    }

    private int dropped() {
        add(ZONE_FULL_EVENTS_OFFSET, 1);
        return -1;
    }
}
