package ch.ipng.stats.format;

import static ch.ipng.stats.layout.ZoneDescriptor.*;

import ch.ipng.stats.zone.SelfMetrics;
import ch.ipng.stats.zone.SharedZone;
import ch.ipng.stats.zone.ZoneGeometry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * One read of the zone for a scrape, filtered and sorted (by tag, then IPv4,
 * IPv6, unix, then address bytes; codes by status). The words are read one by
 * one with getVolatile while workers keep adding, so the snapshot is not
 * atomic; histogram counts are taken from the cumulative buckets so that
 * {@code +Inf == count} always holds in the output.
 */
public final class ZoneSnapshot {

    /** One histogram: cumulative buckets (B finite, then +Inf), sum in ms. */
    public static final class Histogram {
        public final long[] cumulative;
        public final long sumMs;

        Histogram(long[] cumulative, long sumMs) {
            this.cumulative = cumulative;
            this.sumMs = sumMs;
        }

        public long count() {
            return cumulative[cumulative.length - 1];
        }

        /** The same counts and sum: the same lines. */
        boolean sameAs(Histogram other) {
            return sumMs == other.sumMs && Arrays.equals(cumulative, other.cumulative);
        }
    }

    /** One (series, code) key, made on demand by {@link Series#codes()}; the renders read the arrays. */
    public static final class Code {
        public final int status;
        /** The {@code code} label: {@code "404"}, or {@code "4xx"} in status-class mode. */
        public final String text;
        public final long requests;
        public final long bytesIn;
        public final long bytesOut;

        Code(int status, String text, long requests, long bytesIn, long bytesOut) {
            this.status = status;
            this.text = text;
            this.requests = requests;
            this.bytesIn = bytesIn;
            this.bytesOut = bytesOut;
        }
    }

    /*
     * code labels made once, statuses 0..999 and classes 0..9: 12,000 keys,
     * no string per scrape
     */
    private static final String[] CODE_TEXT = codeTexts(1000, false);
    private static final String[] CLASS_TEXT = codeTexts(10, true);
    private static final byte[][] CODE_BYTES = ascii(CODE_TEXT);
    private static final byte[][] CLASS_BYTES = ascii(CLASS_TEXT);

    private static String codeText(int status, boolean classes) {
        return classes ? status + "xx" : Integer.toString(status);
    }

    private static String[] codeTexts(int n, boolean classes) {
        String[] texts = new String[n];
        for (int i = 0; i < n; i++) {
            texts[i] = codeText(i, classes);
        }
        return texts;
    }

    private static byte[][] ascii(String[] texts) {
        byte[][] bytes = new byte[texts.length][];
        for (int i = 0; i < texts.length; i++) {
            bytes[i] = texts[i].getBytes(StandardCharsets.US_ASCII);
        }
        return bytes;
    }

    public static final class Series {
        public final String tag;
        final byte[] tagBytes;
        public final int family;
        final byte[] addr;
        public final String vip;
        public final double rate1s;
        public final double rate10s;
        public final double rate60s;
        public final Histogram duration;
        public final Histogram upstream;
        /* this series' codes: [codeFrom, codeTo) of the snapshot's code arrays, by status */
        int codeFrom;
        int codeTo;
        private ZoneSnapshot snapshot;

        /** The codes of this series, by status, as objects (tests; the renders read the arrays). */
        public List<Code> codes() {
            List<Code> out = new ArrayList<>(codeTo - codeFrom);
            for (int k = codeFrom; k < codeTo; k++) {
                out.add(new Code(snapshot.codeStatus[k], snapshot.codeLabel(k), snapshot.codeRequests[k],
                    snapshot.codeBytesIn[k], snapshot.codeBytesOut[k]));
            }
            return out;
        }

        Series(byte[] tagBytes, int family, byte[] addr, String vip, double[] rates,
               Histogram duration, Histogram upstream) {
            this.tag = new String(tagBytes, StandardCharsets.UTF_8);
            this.tagBytes = tagBytes;
            this.family = family;
            this.addr = addr;
            this.vip = vip;
            this.rate1s = rates[0];
            this.rate10s = rates[1];
            this.rate60s = rates[2];
            this.duration = duration;
            this.upstream = upstream;
        }
    }

    /** Self-metric histogram: non-cumulative words as in the zone, sum in nanoseconds. */
    public static final class SelfHistogram {
        public final long[] buckets;
        public final long sumNanos;
        public final long count;

        SelfHistogram(long[] buckets, long sumNanos, long count) {
            this.buckets = buckets;
            this.sumNanos = sumNanos;
            this.count = count;
        }
    }

    public final long[] boundsMs;
    public final List<Series> series;
    /*
     * Every (series, code) key in four parallel arrays, grouped by series in
     * the order the series were found and by status within each (a series
     * holds its range): no object per key, so a 12,000-key scrape allocates
     * five arrays instead of 12,000 objects and 200 growing lists.
     */
    final int[] codeStatus;
    final long[] codeRequests;
    final long[] codeBytesIn;
    final long[] codeBytesOut;
    /* the keys in those arrays (a recycled array can be longer) */
    private final int codeCount;
    /* where each claimed code went: scratch, kept for the next read that recycles this one */
    private final int[] place;
    private final boolean classes;
    /* what decides the keys and their order (see sameKeysAs) */
    private final SharedZone zone;
    private final boolean unfiltered;
    private final long[] seriesSlots;
    private final long[] codeSlots;
    public final long bytesUsed;
    public final long bytesTotal;
    public final long fullEvents;
    public final long ifindexMisses;
    /** Records the workers dropped: the zone's DROPPED_RECORDS and the drops still in the rings. */
    public final long droppedRecords;
    public final SelfHistogram scrapes;
    /** Per worker entry (index = worker number), null if it never flushed. */
    public final long[] workerFlushes;
    public final SelfHistogram[] workerFlushDurations;

    private ZoneSnapshot(SharedZone zone, long ringDrops, ScrapeFilter filter, ZoneSnapshot recycled) {
        ZoneGeometry g = zone.geometry();
        boundsMs = zone.bounds();
        classes = zone.statusMode() == STATUS_MODE_CLASSES;
        byte[][] tags = new byte[TAG_CAPACITY][];
        // the claimed slots, kept by the zone between scrapes (a walk of the tables only after new keys)
        long[] slots = zone.claimedSeries();
        Series[] kept = new Series[slots.length];
        List<Series> list = new ArrayList<>();
        for (int j = 0; j < slots.length; j++) {
            int i = (int) slots[j];
            long state = zone.seriesStateAt(i);
            int tagIndex = (int) (state >>> 8 & 0xff);
            int family = (int) (state & 0xff);
            if (tags[tagIndex] == null) {
                tags[tagIndex] = zone.tagBytes(tagIndex);
            }
            long hi = zone.seriesAddrHi(i);
            long lo = zone.seriesAddrLo(i);
            if (tags[tagIndex] == null || !filter.matchesTag(tags[tagIndex]) || !filter.matchesVip(family, hi, lo)) {
                continue;
            }
            int off = g.seriesOffset(i);
            double[] rates = {
                zone.getDouble(off + SERIES_RATE_1S_OFFSET),
                zone.getDouble(off + SERIES_RATE_10S_OFFSET),
                zone.getDouble(off + SERIES_RATE_60S_OFFSET),
            };
            Series s = new Series(tags[tagIndex], family, Vip.bytes(hi, lo), Vip.text(family, hi, lo),
                rates, histogram(zone, zone.histogramOffset(i, 0), g.bucketCount),
                histogram(zone, zone.histogramOffset(i, 1), g.bucketCount));
            kept[j] = s;
            list.add(s);
        }
        /*
         * The codes come by series slot, then status: walked beside the series
         * slots (also ascending), the codes of each series kept are one run,
         * in series order, by status. The first pass places them; the second
         * reads their counters in slot order (see SharedZone.claimedCodeSlotOrder).
         */
        long[] codes = list.isEmpty() ? new long[0] : zone.claimedCodes();
        int slotBits = zone.codeSlotBits();
        long slotMask = (1L << slotBits) - 1;
        place = recycled != null && recycled.place.length >= codes.length ? recycled.place : new int[codes.length];
        int n = 0;
        for (int k = 0, j = 0; k < codes.length; k++) {
            // j only moves forward: the series slot of this code, or the next one after it
            long seriesSlot = (codes[k] >>> slotBits >>> 16) - 1;
            while (j < slots.length && slots[j] < seriesSlot) {
                j++;
            }
            // a code whose series was claimed after the series list was taken has
            // no entry, and is left out as if claimed after the scrape
            Series x = j < slots.length && slots[j] == seriesSlot ? kept[j] : null;
            if (x == null) {
                place[k] = -1;
                continue;
            }
            if (x.codeTo == 0) {
                x.codeFrom = n;
            }
            x.codeTo = n + 1;
            place[k] = n++;
        }
        codeCount = n;
        boolean reuse = recycled != null && recycled.codeStatus.length >= n;
        codeStatus = reuse ? recycled.codeStatus : new int[n];
        codeRequests = reuse ? recycled.codeRequests : new long[n];
        codeBytesIn = reuse ? recycled.codeBytesIn : new long[n];
        codeBytesOut = reuse ? recycled.codeBytesOut : new long[n];
        for (Series x : list) {
            x.snapshot = this;
        }
        int[] order = zone.claimedCodeSlotOrder(codes);
        for (int j = 0; j < order.length; j++) {
            int k = order[j];
            int at = place[k];
            if (at < 0) {
                continue;
            }
            int off = g.codeOffset((int) (codes[k] & slotMask));
            codeStatus[at] = (int) (codes[k] >>> slotBits & 0xffff);
            codeRequests[at] = zone.getVolatile(off + CODE_REQUESTS_OFFSET);
            codeBytesIn[at] = zone.getVolatile(off + CODE_BYTES_IN_OFFSET);
            codeBytesOut[at] = zone.getVolatile(off + CODE_BYTES_OUT_OFFSET);
        }
        list.sort(SERIES_ORDER);
        series = list;
        this.zone = zone;
        unfiltered = filter.isEmpty();
        seriesSlots = slots;
        codeSlots = codes;
        bytesUsed = zone.bytesUsed();
        bytesTotal = zone.bytesTotal();
        fullEvents = zone.zoneFullEvents();
        ifindexMisses = zone.ifindexMisses();
        droppedRecords = zone.droppedRecords() + ringDrops;
        scrapes = self(zone, SCRAPE_BUCKETS_OFFSET, SCRAPE_SUM_NANOS_OFFSET, SCRAPE_COUNT_OFFSET);
        workerFlushes = new long[WORKER_CAPACITY];
        workerFlushDurations = new SelfHistogram[WORKER_CAPACITY];
        for (int w = 0; w < WORKER_CAPACITY; w++) {
            int off = SharedZone.workerOffset(w);
            workerFlushes[w] = zone.getVolatile(off + WORKER_FLUSHES_OFFSET);
            if (workerFlushes[w] != 0) {
                workerFlushDurations[w] = self(zone, off + WORKER_FLUSH_BUCKETS_OFFSET,
                    off + WORKER_FLUSH_SUM_NANOS_OFFSET, off + WORKER_FLUSHES_OFFSET);
            }
        }
    }

    public static ZoneSnapshot read(SharedZone zone, ScrapeFilter filter) {
        return new ZoneSnapshot(zone, 0, filter, null);
    }

    /**
     * {@link #read(SharedZone, ScrapeFilter)}, with the drops still in the
     * rings ({@code ringDrops}), into the key arrays of
     * {@code recycled} (or null) where they are long enough, which must not
     * be read after: the stats process keeps two snapshots (the last one, to
     * compare with, and this), so a scrape allocates no arrays per key, and
     * the young collections that promoted them (and the full collections
     * that followed) stay away.
     */
    static ZoneSnapshot read(SharedZone zone, long ringDrops, ScrapeFilter filter, ZoneSnapshot recycled) {
        return new ZoneSnapshot(zone, ringDrops, filter, recycled);
    }

    /** The (series, code) keys read. */
    int codeCount() {
        return codeCount;
    }

    /**
     * Whether {@code other} has the same keys in the same order, so the same
     * labels at every position: both unfiltered reads of one zone that found
     * the same lists of claimed slots (the zone hands out the same list
     * objects until a slot is claimed; slots are never freed and a claimed
     * key never changes) and kept as many series and codes (a series whose
     * source tag was not yet readable is left out).
     */
    boolean sameKeysAs(ZoneSnapshot other) {
        return other.zone == zone && unfiltered && other.unfiltered
            && other.seriesSlots == seriesSlots && other.codeSlots == codeSlots
            && other.series.size() == series.size() && other.codeCount == codeCount;
    }

    /** The {@code code} label of key {@code k}: {@code "404"}, or {@code "4xx"} in status-class mode. */
    String codeLabel(int k) {
        int status = codeStatus[k];
        String[] texts = classes ? CLASS_TEXT : CODE_TEXT;
        return status < texts.length ? texts[status] : codeText(status, classes);
    }

    /** {@link #codeLabel} as ASCII bytes, made once for every status a zone can hold in practice. */
    byte[] codeLabelBytes(int k) {
        int status = codeStatus[k];
        byte[][] bytes = classes ? CLASS_BYTES : CODE_BYTES;
        return status < bytes.length ? bytes[status] : codeLabel(k).getBytes(StandardCharsets.US_ASCII);
    }

    private static final Comparator<Series> SERIES_ORDER = (a, b) -> {
        int c = a.tag.compareTo(b.tag);
        if (c != 0) {
            return c;
        }
        c = Integer.compare(familyRank(a.family), familyRank(b.family));
        return c != 0 ? c : Arrays.compareUnsigned(a.addr, b.addr);
    };

    private static int familyRank(int family) {
        return family == 4 ? 0 : family == 6 ? 1 : 2;
    }

    private static Histogram histogram(SharedZone zone, int off, int bucketCount) {
        long[] cumulative = new long[bucketCount + 1];
        long total = 0;
        for (int b = 0; b <= bucketCount; b++) {
            total += zone.getVolatile(off + b * Long.BYTES);
            cumulative[b] = total;
        }
        return new Histogram(cumulative, zone.getVolatile(off + (bucketCount + 1) * Long.BYTES));
    }

    private static SelfHistogram self(SharedZone zone, int bucketsOff, int sumOff, int countOff) {
        long[] buckets = new long[SELF_BUCKET_COUNT];
        for (int b = 0; b < SELF_BUCKET_COUNT; b++) {
            buckets[b] = zone.getVolatile(bucketsOff + b * Long.BYTES);
        }
        return new SelfHistogram(buckets, zone.getVolatile(sumOff), zone.getVolatile(countOff));
    }

    static double selfBoundSeconds(int i) {
        return SelfMetrics.boundSeconds(i);
    }
}
