package ch.ipng.stats.layout;

/**
 * Layout of the counters zone: one region of the nginx shared memory
 * segment, mapped by the workers and the stats process. The master (C)
 * zeroes it and writes the header; Java (the stats process) owns everything
 * after the header. All fields are
 * native byte order; every 64-bit field is 8-byte aligned. Offsets are from
 * the start of the region ({@code ZONE_LENGTH} bytes, the ByteBuffer C hands
 * to {@code NativeBridge.start}).
 *
 * <pre>
 *  offset  length   field
 *  ------  -------  ----------------------------------------------------------
 *  HEADER (written by C in the master, read-only for Java)
 *       0        8  MAGIC              0x54415453474E5049 ("IPNGSTAT" as LE u64)
 *       8        4  LAYOUT_VERSION     2 (1: the per-worker JVMs' zone, not reused)
 *      12        4  HEADER_LENGTH      512
 *      16        8  ZONE_LENGTH        bytes in this region (= ByteBuffer capacity)
 *      24        4  BUCKET_COUNT       B = finite histogram bounds, 2..32
 *      28        4  STATUS_MODE        0 = exact codes, 1 = classes (1xx..5xx)
 *      32      256  BUCKET_BOUNDS      u64[32] bounds in ms, strictly increasing, unused = 0
 *     288        8  JVM_START_ATTEMPTS (C only, atomic)
 *     296        8  JVM_START_OK       (C only, atomic)
 *     304        8  SHM_SIZE           whole nginx shared zone as configured (>= ZONE_LENGTH)
 *     312      200  reserved (C)
 *  GLOBALS (Java)
 *     512        8  CODE_KEYS_USED     claimed code slots
 *     520        8  SERIES_USED        claimed series slots
 *     528        8  ZONE_FULL_EVENTS   key insertions dropped because a table was full
 *     536        8  RATE_TICK_SECOND   epoch second of the last EWMA tick (CAS wins the tick)
 *     544        8  TAGS_USED          claimed tag entries
 *     552        8  SCRAPE_COUNT
 *     560        8  SCRAPE_SUM_NANOS
 *     568      128  SCRAPE_BUCKETS     u64[16], non-cumulative, last = +Inf
 *     696        8  IFINDEX_MISSES     connections whose ingress interface matched no device
 *     704        8  DROPPED_RECORDS    records workers dropped (full ring), moved here from the rings
 *     712      312  reserved
 *  TAG_TABLE: 256 entries x 80 bytes
 *    1024    20480  entry +0 STATE u64 (0 empty, 1 busy, 2 | len << 8 ready)
 *                         +8 TEXT 72 bytes UTF-8 (at most 64 used)
 *  WORKER_TABLE: 128 entries x 256 bytes, index = the ring's WORKER (>= 128 share 127)
 *   21504    32768  entry +0 FLUSHES u64, +8 FLUSH_SUM_NANOS u64,
 *                         +16 FLUSH_BUCKETS u64[16] (non-cumulative, last = +Inf),
 *                         +144 PID u64 (the ring's owner), +152 reserved
 *  SERIES_TABLE: SERIES_CAPACITY slots x SERIES_LENGTH (= 56 + 2 * (B + 3) * 8)
 *   54272           slot +0  STATE u64   0 empty; BUSY = 1 << 63;
 *                                        READY = 1 << 62 | tagIndex << 8 | family
 *                        +8  ADDR_HI u64 (addr bytes 0..7 as a native-order long)
 *                        +16 ADDR_LO u64 (addr bytes 8..15)
 *                        +24 RATE_SNAPSHOT u64 (duration COUNT at the last tick)
 *                        +32 RATE_1S, +40 RATE_10S, +48 RATE_60S (double bits)
 *                        +56 DURATION histogram: BUCKETS u64[B+1], SUM_MS u64, COUNT u64
 *                        +56+(B+3)*8 UPSTREAM histogram, same shape
 *  CODE_TABLE: CODE_CAPACITY slots x 32 bytes, right after the series table
 *                   slot +0  KEY u64 = (seriesIndex + 1) << 16 | status (0 = empty)
 *                        +8  REQUESTS u64, +16 BYTES_IN u64, +24 BYTES_OUT u64
 * </pre>
 *
 * Capacities follow from ZONE_LENGTH and B alone (see
 * {@code ch.ipng.stats.zone.ZoneGeometry}), so every process derives the same.
 * The rings the workers write their records into are another zone
 * ({@link RingDescriptor}).
 */
public final class ZoneDescriptor {

    // header, written by C
    public static final int MAGIC_OFFSET = 0;
    public static final int MAGIC_LENGTH = Long.BYTES;
    public static final int LAYOUT_VERSION_OFFSET = MAGIC_OFFSET + MAGIC_LENGTH;
    public static final int LAYOUT_VERSION_LENGTH = Integer.BYTES;
    public static final int HEADER_LENGTH_OFFSET = LAYOUT_VERSION_OFFSET + LAYOUT_VERSION_LENGTH;
    public static final int HEADER_LENGTH_LENGTH = Integer.BYTES;
    public static final int ZONE_LENGTH_OFFSET = HEADER_LENGTH_OFFSET + HEADER_LENGTH_LENGTH;
    public static final int ZONE_LENGTH_LENGTH = Long.BYTES;
    public static final int BUCKET_COUNT_OFFSET = ZONE_LENGTH_OFFSET + ZONE_LENGTH_LENGTH;
    public static final int BUCKET_COUNT_LENGTH = Integer.BYTES;
    public static final int STATUS_MODE_OFFSET = BUCKET_COUNT_OFFSET + BUCKET_COUNT_LENGTH;
    public static final int STATUS_MODE_LENGTH = Integer.BYTES;
    public static final int MAX_BUCKETS = 32;
    public static final int MIN_BUCKETS = 2;
    public static final int BUCKET_BOUNDS_OFFSET = STATUS_MODE_OFFSET + STATUS_MODE_LENGTH;
    public static final int BUCKET_BOUNDS_LENGTH = MAX_BUCKETS * Long.BYTES;
    public static final int JVM_START_ATTEMPTS_OFFSET = BUCKET_BOUNDS_OFFSET + BUCKET_BOUNDS_LENGTH;
    public static final int JVM_START_ATTEMPTS_LENGTH = Long.BYTES;
    public static final int JVM_START_OK_OFFSET = JVM_START_ATTEMPTS_OFFSET + JVM_START_ATTEMPTS_LENGTH;
    public static final int JVM_START_OK_LENGTH = Long.BYTES;
    public static final int SHM_SIZE_OFFSET = JVM_START_OK_OFFSET + JVM_START_OK_LENGTH;
    public static final int SHM_SIZE_LENGTH = Long.BYTES;
    public static final int HEADER_RESERVED_OFFSET = SHM_SIZE_OFFSET + SHM_SIZE_LENGTH;
    public static final int HEADER_RESERVED_LENGTH = 200;
    public static final int HEADER_LENGTH = HEADER_RESERVED_OFFSET + HEADER_RESERVED_LENGTH;

    public static final long MAGIC = 0x54415453474E5049L;
    public static final int LAYOUT_VERSION = 2;
    public static final int STATUS_MODE_EXACT = 0;
    public static final int STATUS_MODE_CLASSES = 1;

    // globals, Java
    public static final int GLOBALS_OFFSET = HEADER_LENGTH;
    public static final int CODE_KEYS_USED_OFFSET = GLOBALS_OFFSET;
    public static final int SERIES_USED_OFFSET = CODE_KEYS_USED_OFFSET + Long.BYTES;
    public static final int ZONE_FULL_EVENTS_OFFSET = SERIES_USED_OFFSET + Long.BYTES;
    public static final int RATE_TICK_SECOND_OFFSET = ZONE_FULL_EVENTS_OFFSET + Long.BYTES;
    public static final int TAGS_USED_OFFSET = RATE_TICK_SECOND_OFFSET + Long.BYTES;
    public static final int SCRAPE_COUNT_OFFSET = TAGS_USED_OFFSET + Long.BYTES;
    public static final int SCRAPE_SUM_NANOS_OFFSET = SCRAPE_COUNT_OFFSET + Long.BYTES;
    /** Buckets of the self-metric histograms (scrape, flush): 15 finite + Inf. */
    public static final int SELF_BUCKET_COUNT = 16;
    public static final int SCRAPE_BUCKETS_OFFSET = SCRAPE_SUM_NANOS_OFFSET + Long.BYTES;
    public static final int SCRAPE_BUCKETS_LENGTH = SELF_BUCKET_COUNT * Long.BYTES;
    public static final int IFINDEX_MISSES_OFFSET = SCRAPE_BUCKETS_OFFSET + SCRAPE_BUCKETS_LENGTH;
    public static final int DROPPED_RECORDS_OFFSET = IFINDEX_MISSES_OFFSET + Long.BYTES;
    public static final int GLOBALS_LENGTH = 512;

    // tag table
    public static final int TAG_TABLE_OFFSET = GLOBALS_OFFSET + GLOBALS_LENGTH;
    public static final int TAG_CAPACITY = 256;
    public static final int TAG_STATE_OFFSET = 0;
    public static final int TAG_TEXT_OFFSET = TAG_STATE_OFFSET + Long.BYTES;
    public static final int TAG_TEXT_LENGTH = 72;
    public static final int TAG_ENTRY_LENGTH = TAG_TEXT_OFFSET + TAG_TEXT_LENGTH;
    public static final int TAG_MAX_BYTES = 64;
    public static final int TAG_TABLE_LENGTH = TAG_CAPACITY * TAG_ENTRY_LENGTH;
    public static final long TAG_EMPTY = 0;
    public static final long TAG_BUSY = 1;
    public static final long TAG_READY = 2;

    // worker table
    public static final int WORKER_TABLE_OFFSET = TAG_TABLE_OFFSET + TAG_TABLE_LENGTH;
    public static final int WORKER_CAPACITY = 128;
    public static final int WORKER_FLUSHES_OFFSET = 0;
    public static final int WORKER_FLUSH_SUM_NANOS_OFFSET = WORKER_FLUSHES_OFFSET + Long.BYTES;
    public static final int WORKER_FLUSH_BUCKETS_OFFSET = WORKER_FLUSH_SUM_NANOS_OFFSET + Long.BYTES;
    public static final int WORKER_FLUSH_BUCKETS_LENGTH = SELF_BUCKET_COUNT * Long.BYTES;
    public static final int WORKER_PID_OFFSET = WORKER_FLUSH_BUCKETS_OFFSET + WORKER_FLUSH_BUCKETS_LENGTH;
    public static final int WORKER_ENTRY_LENGTH = 256;
    public static final int WORKER_TABLE_LENGTH = WORKER_CAPACITY * WORKER_ENTRY_LENGTH;

    // series table
    public static final int SERIES_TABLE_OFFSET = WORKER_TABLE_OFFSET + WORKER_TABLE_LENGTH;
    public static final int SERIES_STATE_OFFSET = 0;
    public static final int SERIES_ADDR_HI_OFFSET = SERIES_STATE_OFFSET + Long.BYTES;
    public static final int SERIES_ADDR_LO_OFFSET = SERIES_ADDR_HI_OFFSET + Long.BYTES;
    public static final int SERIES_RATE_SNAPSHOT_OFFSET = SERIES_ADDR_LO_OFFSET + Long.BYTES;
    public static final int SERIES_RATE_1S_OFFSET = SERIES_RATE_SNAPSHOT_OFFSET + Long.BYTES;
    public static final int SERIES_RATE_10S_OFFSET = SERIES_RATE_1S_OFFSET + Long.BYTES;
    public static final int SERIES_RATE_60S_OFFSET = SERIES_RATE_10S_OFFSET + Long.BYTES;
    /** Start of the duration histogram; the upstream one follows it. */
    public static final int SERIES_HISTOGRAMS_OFFSET = SERIES_RATE_60S_OFFSET + Long.BYTES;
    /** Words per histogram beyond its B finite buckets: +Inf bucket, SUM_MS, COUNT. */
    public static final int HISTOGRAM_EXTRA_WORDS = 3;
    public static final long SERIES_EMPTY = 0;
    public static final long SERIES_BUSY = 1L << 63;
    public static final long SERIES_READY = 1L << 62;

    // code table
    public static final int CODE_KEY_OFFSET = 0;
    public static final int CODE_REQUESTS_OFFSET = CODE_KEY_OFFSET + Long.BYTES;
    public static final int CODE_BYTES_IN_OFFSET = CODE_REQUESTS_OFFSET + Long.BYTES;
    public static final int CODE_BYTES_OUT_OFFSET = CODE_BYTES_IN_OFFSET + Long.BYTES;
    public static final int CODE_SLOT_LENGTH = CODE_BYTES_OUT_OFFSET + Long.BYTES;

    /** A table is full when its USED counter would exceed NUMERATOR/DENOMINATOR of capacity. */
    public static final int FULL_NUMERATOR = 7;
    public static final int FULL_DENOMINATOR = 8;

    private ZoneDescriptor() {
    }
}
