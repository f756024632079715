package ch.ipng.stats.zone;

import ch.ipng.stats.layout.ZoneDescriptor;

/**
 * Bounds of the self-metric histograms (scrape and flush durations): 15 finite
 * bounds plus +Inf, the 16 non-cumulative words of ZoneDescriptor's
 * SCRAPE_BUCKETS and FLUSH_BUCKETS. Part of the layout like {@link ZoneHash}.
 */
public final class SelfMetrics {

    private static final long[] BOUNDS_NANOS = {
        10_000L, 25_000L, 50_000L, 100_000L, 250_000L, 500_000L,
        1_000_000L, 2_500_000L, 5_000_000L, 10_000_000L, 25_000_000L,
        50_000_000L, 100_000_000L, 250_000_000L, 500_000_000L,
    };

    /** Finite bounds: one fewer than the bucket words. */
    public static final int FINITE_BOUNDS = ZoneDescriptor.SELF_BUCKET_COUNT - 1;

    private SelfMetrics() {
    }

    public static int bucket(long nanos) {
        for (int i = 0; i < FINITE_BOUNDS; i++) {
            if (nanos <= BOUNDS_NANOS[i]) {
                return i;
            }
        }
        return FINITE_BOUNDS;
    }

    public static double boundSeconds(int i) {
        return BOUNDS_NANOS[i] / 1e9;
    }
}
