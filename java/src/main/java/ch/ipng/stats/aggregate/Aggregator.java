package ch.ipng.stats.aggregate;

import static ch.ipng.stats.layout.RecordDescriptor.*;

import ch.ipng.stats.layout.ZoneDescriptor;
import ch.ipng.stats.zone.Journal;
import ch.ipng.stats.zone.SharedZone;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.Arrays;

/**
 * The stats process's private table. Records are aggregated here without
 * allocation (primitive arrays, open addressing with power-of-two capacities)
 * and moved into the {@link SharedZone} by {@link #flush()}, every store
 * through the {@link Journal} of the transaction they belong to:
 * <ul>
 * <li>series entries, keyed by (tag, family, address): the duration and
 *     upstream histograms as deltas ({@code 2 * (B + 3)} longs each);</li>
 * <li>code entries, keyed by the record's own words (source id, status,
 *     family, address): requests, bytes in, bytes out and the duration sum
 *     as deltas, and their series entry, so that a record finds both with
 *     one probe and no decoding.</li>
 * </ul>
 * Each entry caches its zone slot index once claimed, so a steady-state flush
 * is only journalled stores; and the series that changed since the last
 * flush are listed as they change, so a flush visits those and their codes,
 * not every key known (with 12,000 keys known and one busy, a walk of all of
 * them took 305 us per flush on average under load, some 0.5-5 ms: a cache
 * miss per entry). A duration lands in the first bucket whose bound is
 * &gt;= the value in ms, else +Inf; the upstream histogram only counts
 * records with FLAG_UPSTREAM. In status class mode a status reaches the zone
 * as {@code status / 100}.
 *
 * <p>A transaction must fit its journal, and the private tables must never
 * fill (their probes would not end): {@link #drain} takes no more records
 * than {@link #room} allows, counting each as a new key in both tables and
 * {@link #storesPerRecord} journal entries, and says how many it took; the
 * caller then ends the transaction with a flush. A flush that leaves a
 * table at 3/4 of its capacity forgets the keys.
 *
 * <p>Not thread-safe: one instance, used by the holder of the drain lock.
 */
public final class Aggregator {

    public static final int DEFAULT_SERIES_CAPACITY = 1024;
    public static final int DEFAULT_CODE_CAPACITY = 8192;

    private static final int UNKNOWN = -1;
    private static final long V4_MASK = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
        ? 0x0000_0000_FFFF_FFFFL : 0xFFFF_FFFF_0000_0000L;

    private final SharedZone zone;
    private final Journal journal;
    private final int[] tagBySource;
    private final boolean statusClasses;
    /* the zone's bucket bounds + Long.MIN_VALUE: a signed compare with these is an unsigned one */
    private final long[] biasedBounds;
    private final int bucketCount;
    /* bucket(ms) for every ms below 2^BUCKET_TABLE_BITS: one load instead of a search per request */
    private static final int BUCKET_TABLE_BITS = 12;
    private final byte[] bucketOf = new byte[1 << BUCKET_TABLE_BITS];
    private final int histWords;
    private final int stride;

    /*
     * Entries are interleaved in one array per table (a record's lookup then
     * touches one cache line per table, not one per field), and the private
     * tables hash with one multiply per word: their hash is private, unlike
     * the zone's (ZoneHash), which is part of the shared layout.
     */
    private static final long M1 = 0x9E3779B97F4A7C15L;
    private static final long M2 = 0xC2B2AE3D27D4EB4FL;
    private static final long M3 = 0x165667B19E3779F9L;

    // series entries: SERIES_WORDS longs each: key (tag << 8 | family, + 1; 0 = empty), hi, lo
    private static final int SERIES_WORDS = 3;
    private final int seriesMask;
    private final int seriesShift;
    private final int seriesLimit;
    private final long[] series;
    private final int[] seriesZone;
    private final int[] seriesTried;    // flush generation of the last failed claim
    private final int[] seriesListed;   // flush generation in which it was listed in dirtySeries
    private final long[] hist;          // stride longs per entry, see SUM
    /*
     * A private histogram is sum, count, then the buckets (+Inf last); flush
     * maps it to the zone's order (buckets, +Inf, sum, count). The request
     * duration histogram's sum and count stay zero between flushes: a record
     * adds its duration to its code entry's DURATION_SUM, and a flush adds
     * the series' entries' sums and requests into them before it moves the
     * histograms, so a record touches one word of the histogram, not three.
     */
    private static final int SUM = 0;
    private static final int COUNT = 1;
    private static final int FIRST_BUCKET = 2;
    private final int[] seriesList;
    private int seriesUsed;

    /*
     * code entries: CODE_WORDS longs each, keyed by the record's own words so
     * that a record finds its counters with one probe and no decoding: key
     * (the record's meta word with FLAGS replaced by KEY_BIT, so 0 = empty:
     * source id, status, family), hi, lo (the address words as C wrote
     * them), then the series entry it counts into (-1: a source without a
     * tag, whose records are dropped), requests, bytes in, bytes out, and
     * the sum of the request durations (ms; see SUM). Decoding (tag, status
     * class, address family) happens once per entry, in code(); two entries
     * may count into one zone key (two source ids of one tag, 403 and 404 in
     * status class mode), as a flush adds deltas.
     */
    private static final int CODE_WORDS = 8;
    private static final int HI = 1;
    private static final int LO = 2;
    private static final int SERIES = 3;
    private static final int REQ = 4;
    private static final int IN = 5;
    private static final int OUT = 6;
    private static final int DURATION_SUM = 7;
    private final int codeMask;
    private final int codeShift;
    private final int codeLimit;
    private final long[] codes;
    private final int[] codeZone;
    private final int[] codeList;
    private int codesUsed;

    /*
     * series entries with a non-zero delta, each listed once, by the first
     * request of one of its code entries since the last flush; a flush walks
     * their code entries through seriesCodes (code entry + 1 of the series'
     * last claimed code, 0: none) and codeNext (the same series' code
     * claimed before it)
     */
    private final int[] dirtySeries;
    private int dirtySeriesCount;
    /* code entries with a non-zero delta: with dirtySeries, the bound of the next flush's stores */
    private int dirtyCodes;
    private final int[] seriesCodes;
    private final int[] codeNext;

    private int generation = 1;    // not 0, the initial value of seriesTried and seriesListed
    private long droppedRecords;

    /**
     * @param tagBySource zone tag index per source id (-1: tag not interned, records dropped)
     * @param journal the journal every store of a flush goes through
     */
    public Aggregator(SharedZone zone, int[] tagBySource, Journal journal) {
        this(zone, tagBySource, journal, DEFAULT_SERIES_CAPACITY, DEFAULT_CODE_CAPACITY);
    }

    public Aggregator(SharedZone zone, int[] tagBySource, Journal journal, int seriesCapacity, int codeCapacity) {
        if (Integer.bitCount(seriesCapacity) != 1 || Integer.bitCount(codeCapacity) != 1
                || seriesCapacity < 4 || codeCapacity < 4) {
            // >= 4: a table takes 3/4 of its slots before a flush, at least 3, and the hash shift is < 64
            throw new IllegalArgumentException("capacities must be powers of two >= 4: "
                + seriesCapacity + ", " + codeCapacity);
        }
        this.zone = zone;
        this.journal = journal;
        this.tagBySource = tagBySource.clone();
        this.statusClasses = zone.statusMode() == ZoneDescriptor.STATUS_MODE_CLASSES;
        long[] bounds = zone.bounds();
        this.bucketCount = bounds.length;
        this.biasedBounds = new long[bucketCount];
        for (int b = 0; b < bucketCount; b++) {
            biasedBounds[b] = bounds[b] + Long.MIN_VALUE;
        }
        for (int ms = 0; ms < bucketOf.length; ms++) {
            bucketOf[ms] = (byte) bucket(ms);
        }
        this.histWords = zone.geometry().histogramWords;
        this.stride = 2 * histWords;
        this.storesPerRecord = CODE_STORES + stride;

        seriesMask = seriesCapacity - 1;
        seriesShift = 64 - Integer.numberOfTrailingZeros(seriesCapacity);
        seriesLimit = seriesCapacity / 4 * 3;
        series = new long[seriesCapacity * SERIES_WORDS];
        seriesZone = new int[seriesCapacity];
        seriesTried = new int[seriesCapacity];
        hist = new long[seriesCapacity * stride];
        seriesList = new int[seriesCapacity];
        Arrays.fill(seriesZone, UNKNOWN);

        codeMask = codeCapacity - 1;
        codeShift = 64 - Integer.numberOfTrailingZeros(codeCapacity);
        codeLimit = codeCapacity / 4 * 3;
        codes = new long[codeCapacity * CODE_WORDS];
        codeZone = new int[codeCapacity];
        codeList = new int[codeCapacity];
        Arrays.fill(codeZone, UNKNOWN);
        dirtySeries = new int[seriesCapacity];
        seriesCodes = new int[seriesCapacity];
        seriesListed = new int[seriesCapacity];
        codeNext = new int[codeCapacity];
    }

    /** Connections whose ingress interface matched no device, since the last flush. */
    private long ifindexMisses;

    /*
     * The drain copies up to BATCH records into `words` with one bulk get and
     * decodes the fields from longs: C1 does not inline ByteBuffer.getLong
     * down to a load. JMH drainBatch under C1: ten getters per record 77 ns,
     * the copy and shifts 37 ns, with the first probes tried in add() 23-25
     * ns (C2: 19 ns); one loop with fields in locals and no call on the
     * common path 20 ns, and the bucket from a table 17 ns (see records()).
     */
    static final int BATCH = 1024;
    private static final int RECORD_WORDS = RECORD_LENGTH / Long.BYTES;
    private static final boolean LITTLE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    /* the word holding source id, status, family and flags, and each field's shift in it */
    private static final int META_WORD = SOURCE_ID_OFFSET / Long.BYTES;
    private static final int SOURCE_SHIFT = shift(SOURCE_ID_OFFSET, SOURCE_ID_LENGTH);
    private static final int STATUS_SHIFT = shift(STATUS_OFFSET, STATUS_LENGTH);
    private static final int FAMILY_SHIFT = shift(FAMILY_OFFSET, FAMILY_LENGTH);
    private static final int FLAGS_SHIFT = shift(FLAGS_OFFSET, FLAGS_LENGTH);
    private static final long KEY_MASK = ~(0xFFL << FLAGS_SHIFT);
    private static final long KEY_BIT = 1L << FLAGS_SHIFT;
    private static final int ADDR_WORD = ADDR_OFFSET / Long.BYTES;

    static {
        if (META_WORD != (FLAGS_OFFSET + FLAGS_LENGTH - 1) / Long.BYTES || RECORD_LENGTH % Long.BYTES != 0
                || ADDR_OFFSET % Long.BYTES != 0) {
            throw new IllegalStateException("record layout changed: Aggregator.drain decodes words");
        }
    }

    /** Bit shift of a field of {@code length} bytes at byte {@code offset} within its native-order long. */
    private static int shift(int offset, int length) {
        int inWord = offset % Long.BYTES;
        return 8 * (LITTLE ? inWord : Long.BYTES - inWord - length);
    }

    private final long[] words = new long[BATCH * RECORD_WORDS];
    private ByteBuffer wordSource;
    private LongBuffer wordView;

    /* journal entries a flush needs at most: per code entry, per series entry, and the ifindex misses */
    private static final int CODE_STORES = 3;
    private static final int GLOBAL_STORES = 1;
    private final int storesPerRecord;

    /** Journal entries one more record may add to the next flush at most: a new code and a new series. */
    public int storesPerRecord() {
        return storesPerRecord;
    }

    /**
     * How many records the next {@link #drain} may take: each may be a new
     * key in both private tables, and its flush must fit {@code journalEntries}
     * journal entries with everything aggregated since the last flush.
     */
    public int room(int journalEntries) {
        int tables = Math.min(seriesLimit - seriesUsed, codeLimit - codesUsed);
        long need = GLOBAL_STORES + (long) CODE_STORES * dirtyCodes + (long) stride * dirtySeriesCount;
        return (int) Math.max(0, Math.min(tables, (journalEntries - need) / storesPerRecord));
    }

    /**
     * Aggregates up to {@code count} records (RECORD_LENGTH each, native
     * order) starting at byte {@code offset} of {@code records}, as many as
     * {@link #room} allows with {@code journalEntries}. Returns how many.
     */
    public int drain(ByteBuffer records, int offset, int count, int journalEntries) {
        if (offset % Long.BYTES != 0) {
            throw new IllegalArgumentException("records at unaligned offset " + offset);
        }
        if (records != wordSource) {
            wordView = records.duplicate().clear().order(ByteOrder.nativeOrder()).asLongBuffer();
            wordSource = records;
        }
        /*
         * in runs that fit the room left: checking the room per run instead
         * of per record, DrainLoop's best 1 s windows 17.1-18.1 ns per record
         * against 17.6-19.3; a run of known keys leaves the room as it was
         */
        int taken = 0;
        while (taken < count) {
            int n = Math.min(Math.min(count - taken, BATCH), room(journalEntries));
            if (n == 0) {
                break;
            }
            wordView.get(offset / Long.BYTES + taken * RECORD_WORDS, words, 0, n * RECORD_WORDS);
            records(words, 0, n * RECORD_WORDS);
            taken += n;
        }
        return taken;
    }

    private final long[] one = new long[RECORD_WORDS];

    /**
     * Aggregates one request (tests, tools). {@code hi}/{@code lo} are the
     * address bytes 0..7 and 8..15 as native-order longs (ZoneDescriptor's
     * ADDR_HI/ADDR_LO). A source id without an interned tag is counted in
     * {@link #droppedRecords()}.
     *
     * @throws IllegalStateException when {@link #room} is 0 for the journal's free entries: flush first
     */
    public void add(int sourceId, int family, long hi, long lo, int status,
                    long in, long out, long requestMs, boolean upstream, long upstreamMs) {
        if (room(journal.free()) == 0) {
            throw new IllegalStateException("no room for another record: flush first");
        }
        long[] w = one;
        w[BYTES_IN_OFFSET / Long.BYTES] = in;
        w[BYTES_OUT_OFFSET / Long.BYTES] = out;
        w[REQUEST_TIME_OFFSET / Long.BYTES] = requestMs;
        w[UPSTREAM_TIME_OFFSET / Long.BYTES] = upstreamMs;
        w[ADDR_OFFSET / Long.BYTES] = hi;
        w[ADDR_OFFSET / Long.BYTES + 1] = lo;
        w[META_WORD] = (sourceId & 0xFFFF_FFFFL) << SOURCE_SHIFT
            | (long) (status & 0xffff) << STATUS_SHIFT
            | (long) (family & 0xff) << FAMILY_SHIFT
            | (long) (upstream ? FLAG_UPSTREAM : 0) << FLAGS_SHIFT;
        records(w, 0, RECORD_WORDS);
    }

    /*
     * The records in w[from..to), no more than the tables have room for. One
     * loop with every field it reads in a local: under C1 a field is loaded
     * again after each store and a call spills every live value, so the
     * common path loads no field and makes no call: the first probe of the
     * code table is tried inline (the rest, and a new key's series entry, in
     * code()), and a duration under 4096 ms finds its bucket in bucketOf with
     * one load
     * (longer ones and the upstream histogram, for a proxied request, are
     * calls). The hash's top bits are the slot: no mask. On the Intel VM
     * (bench/drain-ab.sh, two builds alternated 100 ms at a time in one
     * JVM): one probe of the code table instead of one of each table, 5-6 %
     * less time per record; code entries keyed by the record's words, with
     * the decoding moved to code(), 11 %; the duration sum in the code
     * entry instead of the histogram's sum and count, 5 %; 0.80 of the
     * time per record of the three together. A one-multiply hash (xor of
     * the words) read 1.5 % slower; smaller tables (512/1024) no faster;
     * the misses on the code entry and the bucket are ~40 % of the time.
     */
    private void records(long[] w, int from, int to) {
        final long[] ct = codes;
        final long[] h = hist;
        final byte[] bucketOf = this.bucketOf;
        final int cShift = codeShift;
        final int histStride = stride;
        final int[] ds = dirtySeries;
        final int[] listed = seriesListed;
        final int gen = generation;
        int nds = dirtySeriesCount;
        int dirty = dirtyCodes;
        long misses = 0;
        long dropped = 0;
        for (int r = from; r < to; r += RECORD_WORDS) {
            long meta = w[r + META_WORD];
            int flags = (int) (meta >>> FLAGS_SHIFT) & 0xff;
            misses += (flags & FLAG_IFINDEX_MISS) >>> 1;
            long ckey = meta & KEY_MASK | KEY_BIT;
            long hi = w[r + ADDR_WORD];
            long lo = w[r + ADDR_WORD + 1];
            int c = (int) (hash(hi, lo, ckey) >>> cShift) * CODE_WORDS;
            if (ct[c] != ckey || ct[c + HI] != hi || ct[c + LO] != lo) {
                c = code(c / CODE_WORDS, ckey, hi, lo) * CODE_WORDS;
            }
            int s = (int) ct[c + SERIES];
            if (s < 0) {
                dropped++;
                continue;
            }
            long requests = ct[c + REQ];
            if (requests == 0) {
                dirty++;
                if (listed[s] != gen) {
                    listed[s] = gen;
                    ds[nds++] = s;
                }
            }
            ct[c + REQ] = requests + 1;
            ct[c + IN] += w[r + BYTES_IN_OFFSET / Long.BYTES];
            ct[c + OUT] += w[r + BYTES_OUT_OFFSET / Long.BYTES];
            long ms = w[r + REQUEST_TIME_OFFSET / Long.BYTES];
            ct[c + DURATION_SUM] += ms;

            int base = s * histStride;
            int b = ms >>> BUCKET_TABLE_BITS == 0 ? bucketOf[(int) ms] : bucket(ms);
            h[base + FIRST_BUCKET + b]++;
            if ((flags & FLAG_UPSTREAM) != 0) {
                observe(base + histWords, w[r + UPSTREAM_TIME_OFFSET / Long.BYTES]);
            }
        }
        ifindexMisses += misses;
        droppedRecords += dropped;
        dirtySeriesCount = nds;
        dirtyCodes = dirty;
    }

    /* the upstream histogram's observation; records() writes the request's inline, as a call costs C1 */
    private void observe(int base, long ms) {
        int b = ms >>> BUCKET_TABLE_BITS == 0 ? bucketOf[(int) ms] : bucket(ms);
        hist[base + SUM] += ms;
        hist[base + COUNT]++;
        hist[base + FIRST_BUCKET + b]++;
    }

    /** The first bucket whose bound is &gt;= ms (unsigned), else bucketCount (+Inf). */
    private int bucket(long ms) {
        int b = 0;
        long biased = ms + Long.MIN_VALUE;    // unsigned compare, spelled out for C1
        while (b < bucketCount && biased > biasedBounds[b]) {
            b++;
        }
        return b;
    }

    /** The series entry of (key, hi, lo), probing from slot i; claims a free one. */
    private int series(int i, long key, long hi, long lo) {
        while (true) {
            int e = i * SERIES_WORDS;
            long k = series[e];
            if (k == 0) {
                series[e] = key;
                series[e + 1] = hi;
                series[e + 2] = lo;
                seriesList[seriesUsed++] = i;
                return i;
            }
            if (k == key && series[e + 1] == hi && series[e + 2] == lo) {
                return i;
            }
            i = (i + 1) & seriesMask;
        }
    }

    /**
     * The code entry of (key, hi, lo), probing from slot i; claims a free one
     * and finds or claims the series entry it counts into: the source's tag,
     * the address family (FAMILY_OTHER for any other), the address with what
     * lies outside the family's bytes cleared.
     */
    private int code(int i, long key, long hi, long lo) {
        while (true) {
            int e = i * CODE_WORDS;
            long k = codes[e];
            if (k == 0) {
                codes[e] = key;
                codes[e + HI] = hi;
                codes[e + LO] = lo;
                codeList[codesUsed++] = i;
                int sourceId = (int) (key >>> SOURCE_SHIFT);
                int tag = sourceId >= 0 && sourceId < tagBySource.length ? tagBySource[sourceId] : -1;
                if (tag < 0) {
                    codes[e + SERIES] = -1;
                    return i;
                }
                int family = (int) (key >>> FAMILY_SHIFT) & 0xff;
                if (family == FAMILY_INET) {
                    hi &= V4_MASK;
                    lo = 0;
                } else if (family != FAMILY_INET6) {
                    family = FAMILY_OTHER;
                    hi = 0;
                    lo = 0;
                }
                long skey = (tag << 8 | family) + 1;
                int s = series((int) (hash(hi, lo, skey) >>> seriesShift), skey, hi, lo);
                codes[e + SERIES] = s;
                codeNext[i] = seriesCodes[s];
                seriesCodes[s] = i + 1;
                return i;
            }
            if (k == key && codes[e + HI] == hi && codes[e + LO] == lo) {
                return i;
            }
            i = (i + 1) & codeMask;
        }
    }

    /*
     * both private tables' hash; its top bits are the slot. 19 bytes of
     * bytecode, so C1 inlines it (up to 35): drain-ab.sh 0.996 against the
     * expression written out in records()
     */
    private static long hash(long hi, long lo, long key) {
        return hi * M1 + lo * M2 + key * M3;
    }

    /** The zone's status of a code entry's key: the status, or its class in status class mode. */
    private int zoneStatus(long key) {
        int status = (int) (key >>> STATUS_SHIFT) & 0xffff;
        return statusClasses ? status / 100 : status;
    }

    /**
     * Adds every non-zero delta into the zone through the journal and zeroes
     * it; the caller commits. Deltas of keys the zone has no room for are
     * dropped (the zone counts a full event per dropped key and flush). If a
     * flush fails half way, {@link #discard} what is left.
     */
    public void flush() {
        generation++;
        journal.add(ZoneDescriptor.IFINDEX_MISSES_OFFSET, ifindexMisses);
        ifindexMisses = 0;
        for (int n = 0; n < dirtySeriesCount; n++) {
            int s = dirtySeries[n];
            for (int next = seriesCodes[s]; next != 0; next = codeNext[next - 1]) {
                flushCode(s, next - 1);
            }
            flushHistograms(s);
        }
        dirtySeriesCount = 0;
        dirtyCodes = 0;
        if (seriesUsed >= seriesLimit || codesUsed >= codeLimit) {
            clear();
        }
    }

    /**
     * Forgets every delta and key: the transaction they belonged to failed
     * and is rolled back, and its records will be drained again.
     */
    public void discard() {
        for (int n = 0; n < seriesUsed; n++) {
            int base = seriesList[n] * stride;
            Arrays.fill(hist, base, base + stride, 0);
        }
        for (int n = 0; n < codesUsed; n++) {
            int e = codeList[n] * CODE_WORDS;
            Arrays.fill(codes, e + REQ, e + CODE_WORDS, 0);
        }
        generation++;
        dirtySeriesCount = 0;
        dirtyCodes = 0;
        ifindexMisses = 0;
        clear();
    }

    /* series entry s's histogram deltas into the zone, zeroed */
    private void flushHistograms(int s) {
        int base = s * stride;
        if (hist[base + COUNT] == 0 && hist[base + histWords + COUNT] == 0) {
            return;
        }
        int z = zoneSeries(s);
        for (int h = 0; h < 2; h++) {
            int off = z < 0 ? 0 : zone.histogramOffset(z, h);
            for (int w = 0; w < histWords; w++) {
                long d = hist[base + h * histWords + w];
                if (d != 0) {
                    if (z >= 0) {
                        journal.add(off + zoneWord(w) * Long.BYTES, d);
                    }
                    hist[base + h * histWords + w] = 0;
                }
            }
        }
    }

    /*
     * code entry c's deltas into the zone (claiming its slot the first time),
     * zeroed; its requests and duration sum into series entry s's histogram
     */
    private void flushCode(int s, int c) {
        int e = c * CODE_WORDS;
        if (codes[e + REQ] == 0) {    // every record counts a request: no other delta either
            return;
        }
        hist[s * stride + SUM] += codes[e + DURATION_SUM];
        hist[s * stride + COUNT] += codes[e + REQ];
        int z = codeZone[c];
        if (z == UNKNOWN) {
            int zs = zoneSeries(s);
            if (zs >= 0) {
                z = zone.findOrClaimCode(zs, zoneStatus(codes[e]));
                codeZone[c] = z;
            }
        }
        if (z >= 0) {
            int off = zone.geometry().codeOffset(z);
            journal.add(off + ZoneDescriptor.CODE_REQUESTS_OFFSET, codes[e + REQ]);
            journal.add(off + ZoneDescriptor.CODE_BYTES_IN_OFFSET, codes[e + IN]);
            journal.add(off + ZoneDescriptor.CODE_BYTES_OUT_OFFSET, codes[e + OUT]);
        }
        codes[e + REQ] = 0;
        codes[e + IN] = 0;
        codes[e + OUT] = 0;
        codes[e + DURATION_SUM] = 0;
    }

    /** The zone's word of private histogram word w (see SUM). */
    private int zoneWord(int w) {
        return w >= FIRST_BUCKET ? w - FIRST_BUCKET : bucketCount + 1 + w;
    }

    /** Zone slot of a private series entry: cached, else claimed (at most one attempt per flush). */
    private int zoneSeries(int s) {
        int z = seriesZone[s];
        if (z == UNKNOWN && seriesTried[s] != generation) {
            int e = s * SERIES_WORDS;
            int tagFamily = (int) series[e] - 1;
            z = zone.findOrClaimSeries(tagFamily >>> 8, tagFamily & 0xff, series[e + 1], series[e + 2]);
            if (z < 0) {
                seriesTried[s] = generation;
                z = UNKNOWN;
            }
            seriesZone[s] = z;
        }
        return z;
    }

    /** Forgets every key (deltas must have been flushed or discarded). */
    private void clear() {
        for (int n = 0; n < seriesUsed; n++) {
            int s = seriesList[n];
            series[s * SERIES_WORDS] = 0;
            seriesZone[s] = UNKNOWN;
            seriesCodes[s] = 0;
        }
        for (int n = 0; n < codesUsed; n++) {
            int c = codeList[n];
            codes[c * CODE_WORDS] = 0;
            codeZone[c] = UNKNOWN;
        }
        seriesUsed = 0;
        codesUsed = 0;
    }

    /** Records whose source id had no tag (never counted). */
    public long droppedRecords() {
        return droppedRecords;
    }
}
