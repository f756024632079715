package ch.ipng.stats.layout;

/**
 * Layout of the rings zone: a second region of nginx shared memory through
 * which the workers (C) hand their request records to the stats process
 * (Java). The master zeroes it and writes the header; each worker claims one
 * ring and is its single producer; the stats process holding LOCK is the
 * single consumer of every ring and the only user of the journal. All fields
 * are native byte order and 8-byte aligned; offsets are from the start of
 * the region ({@code ZONE_LENGTH} bytes, the ByteBuffer C hands to
 * {@code NativeBridge.start}). The C header declares the same fields and
 * pins every offset with {@code _Static_assert}.
 *
 * <pre>
 *  offset  length   field
 *  ------  -------  ----------------------------------------------------------
 *  HEADER (written by C when the zone is created)
 *       0        8  MAGIC              0x474E4952474E5049 ("IPNGRING" as LE u64)
 *       8        4  LAYOUT_VERSION     1
 *      12        4  HEADER_LENGTH      256
 *      16        4  RING_COUNT         R
 *      20        4  RING_CAPACITY      C records, a power of two
 *      24        4  RECORD_LENGTH      64 (RecordDescriptor)
 *      28        4  RING_HEADER_LENGTH 256
 *      32        8  ZONE_LENGTH        bytes in this region (= ByteBuffer capacity)
 *      40        8  JOURNAL_OFFSET     where the journal begins (after the last ring)
 *      48        8  JOURNAL_LENGTH     bytes of the journal
 *      56        8  NO_RING_DROPS      records dropped by workers that found no free ring (C, atomic add)
 *      64        8  LOCK               pid of the stats process inside a transaction, 0 = free (Java, CAS)
 *      72        8  GENERATION         configurations loaded: the master adds 1 at each (re)load (C)
 *      80        8  DRAINING           the newest GENERATION whose stats process drains (C, after start):
 *                                      the stats process of an older one drains on until then, so a
 *                                      reload leaves no moment with nobody draining
 *      88        8  LISTENING          pid of the stats process whose scrape socket is in place (C):
 *                                      a worker holds a scrape until it is alive
 *      96        4  SLEEPING           1 while a drain thread sleeps (a futex): it stores 1, reads every
 *                                      ring's HEAD and waits while it is 1; a worker whose ring holds
 *                                      WAKE_RECORDS (and every 1,024 more) sets it to 0 and wakes it
 *     100        4  WAKE_RECORDS       C / 4 (C)
 *     104      152  reserved
 *  RING i at HEADER_LENGTH + i * (RING_HEADER_LENGTH + C * RECORD_LENGTH)
 *      +0        8  OWNER_PID          0 = free; a worker claims a free ring with CAS 0 -> its pid
 *      +8        4  WORKER             ngx_worker of the owner, written by it after its claim
 *     +12        4  reserved
 *     +16        8  CLOSED             1 once the owner exited cleanly (store-release after its last record)
 *     +24       40  reserved           (the owner's cache line ends at 64)
 *     +64        8  HEAD               records published (producer: store-release after writing the record)
 *     +72        8  DROPPED            records the producer dropped because the ring was full
 *     +80       48  reserved           (the producer's cache line ends at 128)
 *    +128        8  TAIL               records consumed (consumer)
 *    +136        8  DROPPED_SEEN       DROPPED already added to the counters zone (consumer)
 *    +144      112  reserved           (the consumer's cache lines end at 256)
 *    +256   C * 64  records            record n at +256 + (n % C) * 64
 *  JOURNAL at JOURNAL_OFFSET (Java only)
 *      +0        8  JOURNAL_STATE      0 = no transaction open;
 *                                      n (bit 63 clear) = open, entries [0, n) are undo entries;
 *                                      1 << 63 | m << 32 | n = committed, entries [n, n + m) are redo entries
 *      +8       56  reserved
 *     +64  16 each  entry +0 WHERE u64 = byte offset, | 1 << 63 for the rings zone (else the counters zone)
 *                         +8 VALUE u64 = the word's old value (undo) or its new value (redo)
 * </pre>
 *
 * The journal holds {@code (JOURNAL_LENGTH - JOURNAL_HEADER_LENGTH) / JOURNAL_ENTRY_LENGTH}
 * entries; a transaction never needs more (the stats process bounds it so);
 * 1 MiB holds 65,532, enough for 12,000 keys in one transaction. The
 * algorithm over this memory (claims, publication, the lock, the journal's
 * undo and redo) is stated in {@code ch.ipng.stats.drain.Consumer} and
 * {@code ch.ipng.stats.zone.Journal}.
 */
public final class RingDescriptor {

    // header, written by C
    public static final int MAGIC_OFFSET = 0;
    public static final int MAGIC_LENGTH = Long.BYTES;
    public static final int LAYOUT_VERSION_OFFSET = MAGIC_OFFSET + MAGIC_LENGTH;
    public static final int LAYOUT_VERSION_LENGTH = Integer.BYTES;
    public static final int HEADER_LENGTH_OFFSET = LAYOUT_VERSION_OFFSET + LAYOUT_VERSION_LENGTH;
    public static final int HEADER_LENGTH_LENGTH = Integer.BYTES;
    public static final int RING_COUNT_OFFSET = HEADER_LENGTH_OFFSET + HEADER_LENGTH_LENGTH;
    public static final int RING_COUNT_LENGTH = Integer.BYTES;
    public static final int RING_CAPACITY_OFFSET = RING_COUNT_OFFSET + RING_COUNT_LENGTH;
    public static final int RING_CAPACITY_LENGTH = Integer.BYTES;
    public static final int RECORD_LENGTH_OFFSET = RING_CAPACITY_OFFSET + RING_CAPACITY_LENGTH;
    public static final int RECORD_LENGTH_LENGTH = Integer.BYTES;
    public static final int RING_HEADER_LENGTH_OFFSET = RECORD_LENGTH_OFFSET + RECORD_LENGTH_LENGTH;
    public static final int RING_HEADER_LENGTH_LENGTH = Integer.BYTES;
    public static final int ZONE_LENGTH_OFFSET = RING_HEADER_LENGTH_OFFSET + RING_HEADER_LENGTH_LENGTH;
    public static final int ZONE_LENGTH_LENGTH = Long.BYTES;
    public static final int JOURNAL_OFFSET_OFFSET = ZONE_LENGTH_OFFSET + ZONE_LENGTH_LENGTH;
    public static final int JOURNAL_OFFSET_LENGTH = Long.BYTES;
    public static final int JOURNAL_LENGTH_OFFSET = JOURNAL_OFFSET_OFFSET + JOURNAL_OFFSET_LENGTH;
    public static final int JOURNAL_LENGTH_LENGTH = Long.BYTES;
    public static final int NO_RING_DROPS_OFFSET = JOURNAL_LENGTH_OFFSET + JOURNAL_LENGTH_LENGTH;
    public static final int NO_RING_DROPS_LENGTH = Long.BYTES;
    public static final int LOCK_OFFSET = NO_RING_DROPS_OFFSET + NO_RING_DROPS_LENGTH;
    public static final int LOCK_LENGTH = Long.BYTES;
    public static final int GENERATION_OFFSET = LOCK_OFFSET + LOCK_LENGTH;
    public static final int GENERATION_LENGTH = Long.BYTES;
    public static final int DRAINING_OFFSET = GENERATION_OFFSET + GENERATION_LENGTH;
    public static final int DRAINING_LENGTH = Long.BYTES;
    public static final int LISTENING_OFFSET = DRAINING_OFFSET + DRAINING_LENGTH;
    public static final int LISTENING_LENGTH = Long.BYTES;
    public static final int SLEEPING_OFFSET = LISTENING_OFFSET + LISTENING_LENGTH;
    public static final int SLEEPING_LENGTH = Integer.BYTES;
    public static final int WAKE_RECORDS_OFFSET = SLEEPING_OFFSET + SLEEPING_LENGTH;
    public static final int WAKE_RECORDS_LENGTH = Integer.BYTES;
    public static final int HEADER_RESERVED_OFFSET = WAKE_RECORDS_OFFSET + WAKE_RECORDS_LENGTH;
    public static final int HEADER_RESERVED_LENGTH = 152;
    public static final int HEADER_LENGTH = HEADER_RESERVED_OFFSET + HEADER_RESERVED_LENGTH;

    public static final long MAGIC = 0x474E4952474E5049L;
    public static final int LAYOUT_VERSION = 1;

    // one ring's header, offsets from the ring's start
    public static final int OWNER_PID_OFFSET = 0;
    public static final int OWNER_PID_LENGTH = Long.BYTES;
    public static final int WORKER_OFFSET = OWNER_PID_OFFSET + OWNER_PID_LENGTH;
    public static final int WORKER_LENGTH = Integer.BYTES;
    public static final int WORKER_RESERVED_OFFSET = WORKER_OFFSET + WORKER_LENGTH;
    public static final int WORKER_RESERVED_LENGTH = Integer.BYTES;
    public static final int CLOSED_OFFSET = WORKER_RESERVED_OFFSET + WORKER_RESERVED_LENGTH;
    public static final int CLOSED_LENGTH = Long.BYTES;
    public static final int OWNER_RESERVED_OFFSET = CLOSED_OFFSET + CLOSED_LENGTH;
    public static final int OWNER_RESERVED_LENGTH = 40;
    public static final int HEAD_OFFSET = OWNER_RESERVED_OFFSET + OWNER_RESERVED_LENGTH;
    public static final int HEAD_LENGTH = Long.BYTES;
    public static final int DROPPED_OFFSET = HEAD_OFFSET + HEAD_LENGTH;
    public static final int DROPPED_LENGTH = Long.BYTES;
    public static final int PRODUCER_RESERVED_OFFSET = DROPPED_OFFSET + DROPPED_LENGTH;
    public static final int PRODUCER_RESERVED_LENGTH = 48;
    public static final int TAIL_OFFSET = PRODUCER_RESERVED_OFFSET + PRODUCER_RESERVED_LENGTH;
    public static final int TAIL_LENGTH = Long.BYTES;
    public static final int DROPPED_SEEN_OFFSET = TAIL_OFFSET + TAIL_LENGTH;
    public static final int DROPPED_SEEN_LENGTH = Long.BYTES;
    public static final int CONSUMER_RESERVED_OFFSET = DROPPED_SEEN_OFFSET + DROPPED_SEEN_LENGTH;
    public static final int CONSUMER_RESERVED_LENGTH = 112;
    public static final int RING_HEADER_LENGTH = CONSUMER_RESERVED_OFFSET + CONSUMER_RESERVED_LENGTH;
    /** The records follow the ring's header. */
    public static final int RECORDS_OFFSET = RING_HEADER_LENGTH;

    /** CLOSED once the owner exited cleanly. */
    public static final long CLOSED = 1;

    // the journal, offsets from JOURNAL_OFFSET
    public static final int JOURNAL_STATE_OFFSET = 0;
    public static final int JOURNAL_STATE_LENGTH = Long.BYTES;
    public static final int JOURNAL_RESERVED_OFFSET = JOURNAL_STATE_OFFSET + JOURNAL_STATE_LENGTH;
    public static final int JOURNAL_RESERVED_LENGTH = 56;
    public static final int JOURNAL_HEADER_LENGTH = JOURNAL_RESERVED_OFFSET + JOURNAL_RESERVED_LENGTH;
    /** Entries, offsets from the entry's start. */
    public static final int JOURNAL_ENTRY_WHERE_OFFSET = 0;
    public static final int JOURNAL_ENTRY_WHERE_LENGTH = Long.BYTES;
    public static final int JOURNAL_ENTRY_VALUE_OFFSET = JOURNAL_ENTRY_WHERE_OFFSET + JOURNAL_ENTRY_WHERE_LENGTH;
    public static final int JOURNAL_ENTRY_VALUE_LENGTH = Long.BYTES;
    public static final int JOURNAL_ENTRY_LENGTH = JOURNAL_ENTRY_VALUE_OFFSET + JOURNAL_ENTRY_VALUE_LENGTH;

    /** JOURNAL_STATE bit: the transaction is committed, its redo entries are to be applied. */
    public static final long JOURNAL_COMMITTED = 1L << 63;
    /** JOURNAL_STATE: the undo entries (low 32 bits); committed: the redo entries (bits 32..62). */
    public static final int JOURNAL_REDO_SHIFT = 32;
    /** WHERE bit: the word is in the rings zone, not the counters zone. */
    public static final long JOURNAL_WHERE_RINGS = 1L << 63;

    private RingDescriptor() {
    }
}
