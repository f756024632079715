package ch.ipng.stats.format;

import java.util.Arrays;

/**
 * The compressed pieces of the last gzip answer, for the next one to reuse:
 * a large zone has a long tail of keys that nothing counted between two
 * scrapes, and their lines would be written and deflated again to the same
 * bytes (deflating was ~60 % of a 12,000-key scrape). The Prometheus
 * renders cut their key lines into segments (a few hundred lines each,
 * {@link Gzip#cut}); a segment whose every input equals the last answer's
 * is spliced in from here instead ({@link Gzip#splice}).
 *
 * <p>When that is exact: the last answer had the same format and the same
 * keys in the same order ({@link ZoneSnapshot#sameKeysAs}: the zone's lists
 * of claimed slots are the same objects, so the labels at each position
 * are), and the segment's values are equal, compared by the render. The
 * segments are numbered in the order the render asks for them, which
 * depends on the keys only. Every number asked for is either spliced or
 * rendered and kept again; a render that fails half way leaves the cache
 * open, and the next one starts empty.
 *
 * <p>One per stats process, used by one scrape at a time under the drain
 * lock (not thread-safe); used for unfiltered scrapes
 * only (a filter changes the keys).
 */
public final class SegmentCache {

    private ZoneSnapshot previous;
    /* the snapshot before previous: its arrays are the next read's (ZoneSnapshot#read with recycled) */
    private ZoneSnapshot spare;
    private boolean previousOpenMetrics;
    private Gzip.Segment[] kept = new Gzip.Segment[64];
    private int count;
    private int next;
    private boolean open;
    private long spliced;
    private long deflated;

    public SegmentCache() {
    }

    /** A snapshot whose key arrays the next read may take over (then not to be read again), or null. */
    ZoneSnapshot recycle() {
        ZoneSnapshot s = spare;
        spare = null;
        return s;
    }

    /**
     * Begins an answer for {@code z}: returns the last answer's snapshot
     * when its keys and format are the same (the render compares values
     * against it), else null (every segment is rendered).
     */
    ZoneSnapshot begin(ZoneSnapshot z, boolean openMetrics) {
        boolean failed = open;
        open = true;
        next = 0;
        ZoneSnapshot comparable = !failed && previous != null && previousOpenMetrics == openMetrics
            && z.sameKeysAs(previous) ? previous : null;
        if (comparable == null) {
            Arrays.fill(kept, 0, count, null);
            count = 0;              // so next() finds nothing to splice
        }
        return comparable;
    }

    /**
     * The next segment: the last answer's bytes for it when the render found
     * its values {@code unchanged}, else null, and the render writes it and
     * hands it to {@link #keep}.
     */
    Gzip.Segment next(boolean unchanged) {
        int i = next++;
        if (i == kept.length) {
            kept = Arrays.copyOf(kept, kept.length * 2);
        }
        Gzip.Segment s = unchanged && i < count ? kept[i] : null;
        if (s == null) {
            kept[i] = null;
            deflated++;
        } else {
            spliced++;
        }
        return s;
    }

    /** The segment last asked for, written and compressed anew. */
    void keep(Gzip.Segment s) {
        kept[next - 1] = s;
    }

    /** Ends the answer for {@code z}: the next one compares against it. */
    void end(ZoneSnapshot z, boolean openMetrics) {
        Arrays.fill(kept, next, Math.max(next, count), null);
        count = next;
        spare = previous;
        previous = z;
        previousOpenMetrics = openMetrics;
        open = false;
    }

    /** Segments spliced from an earlier answer, and written anew, since this cache was made. */
    long spliced() {
        return spliced;
    }

    long deflated() {
        return deflated;
    }
}
