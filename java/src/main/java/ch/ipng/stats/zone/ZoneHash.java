package ch.ipng.stats.zone;

/**
 * The hash functions of the shared tables. They are part of the zone layout:
 * workers of different jar versions (old and new workers during a reload)
 * share one zone, so changing them needs a new LAYOUT_VERSION.
 * Slot index = {@code Long.remainderUnsigned(hash, capacity)}, then linear probing.
 */
public final class ZoneHash {

    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private ZoneHash() {
    }

    /** The SplitMix64 finalizer. */
    public static long mix(long x) {
        x = (x ^ (x >>> 30)) * 0xbf58476d1ce4e5b9L;
        x = (x ^ (x >>> 27)) * 0x94d049bb133111ebL;
        return x ^ (x >>> 31);
    }

    /** Series key: tag index, family and the two address words. */
    public static long series(int tagIndex, int family, long addrHi, long addrLo) {
        return mix(mix(addrHi) + GOLDEN * mix(addrLo ^ ((long) tagIndex << 8 | family)));
    }

    /** Code key: (seriesIndex + 1) << 16 | status. */
    public static long code(long key) {
        return mix(key);
    }

    /** FNV-1a 64 over the tag's UTF-8 bytes. */
    public static long tag(byte[] utf8) {
        long h = FNV_OFFSET;
        for (byte b : utf8) {
            h = (h ^ (b & 0xff)) * FNV_PRIME;
        }
        return h;
    }

    public static int index(long hash, int capacity) {
        return (int) Long.remainderUnsigned(hash, capacity);
    }
}
