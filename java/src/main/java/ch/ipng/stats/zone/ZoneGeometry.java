package ch.ipng.stats.zone;

import static ch.ipng.stats.layout.ZoneDescriptor.CODE_SLOT_LENGTH;
import static ch.ipng.stats.layout.ZoneDescriptor.FULL_DENOMINATOR;
import static ch.ipng.stats.layout.ZoneDescriptor.FULL_NUMERATOR;
import static ch.ipng.stats.layout.ZoneDescriptor.HISTOGRAM_EXTRA_WORDS;
import static ch.ipng.stats.layout.ZoneDescriptor.SERIES_HISTOGRAMS_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.SERIES_TABLE_OFFSET;

/**
 * Capacities of the series and code tables, derived from ZONE_LENGTH and the
 * bucket count B alone so that every process (and every jar version speaking
 * layout version 2) computes the same numbers:
 *
 * <pre>
 * available       = ZONE_LENGTH - 54272
 * SERIES_LENGTH   = 56 + 2 * (B + 3) * 8
 * CODE_CAPACITY   = floor(available / (32 + SERIES_LENGTH / 8.0))
 * SERIES_CAPACITY = max(1, CODE_CAPACITY / 8)
 * </pre>
 */
public final class ZoneGeometry {

    public final long zoneLength;
    public final int bucketCount;
    /** Words in one histogram: B + 1 buckets, SUM_MS, COUNT. */
    public final int histogramWords;
    public final int seriesLength;
    public final int seriesCapacity;
    public final int codeCapacity;
    public final int codeTableOffset;
    /** Used-slot counts at or below these are allowed (7/8 of capacity). */
    public final long seriesLimit;
    public final long codeLimit;

    private ZoneGeometry(long zoneLength, int bucketCount) {
        this.zoneLength = zoneLength;
        this.bucketCount = bucketCount;
        this.histogramWords = bucketCount + HISTOGRAM_EXTRA_WORDS;
        this.seriesLength = SERIES_HISTOGRAMS_OFFSET + 2 * histogramWords * Long.BYTES;
        long available = Math.max(0, zoneLength - SERIES_TABLE_OFFSET);
        this.codeCapacity = (int) Math.floor(available / (CODE_SLOT_LENGTH + seriesLength / 8.0));
        this.seriesCapacity = Math.max(1, codeCapacity / 8);
        this.codeTableOffset = SERIES_TABLE_OFFSET + seriesCapacity * seriesLength;
        this.seriesLimit = (long) seriesCapacity * FULL_NUMERATOR / FULL_DENOMINATOR;
        this.codeLimit = (long) codeCapacity * FULL_NUMERATOR / FULL_DENOMINATOR;
    }

    public static ZoneGeometry of(long zoneLength, int bucketCount) {
        return new ZoneGeometry(zoneLength, bucketCount);
    }

    /** Bytes the tables need; never more than ZONE_LENGTH when codeCapacity > 0. */
    public long requiredLength() {
        return codeTableOffset + (long) codeCapacity * CODE_SLOT_LENGTH;
    }

    public int seriesOffset(int index) {
        return SERIES_TABLE_OFFSET + index * seriesLength;
    }

    public int codeOffset(int index) {
        return codeTableOffset + index * CODE_SLOT_LENGTH;
    }
}
