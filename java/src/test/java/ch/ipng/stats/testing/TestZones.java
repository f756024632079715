package ch.ipng.stats.testing;

import static ch.ipng.stats.layout.RecordDescriptor.*;
import static ch.ipng.stats.layout.ZoneDescriptor.*;

import ch.ipng.stats.format.Vip;
import ch.ipng.stats.zone.Journal;
import ch.ipng.stats.zone.SharedZone;
import ch.ipng.stats.zone.ZoneFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Zones and records as C would make them, on heap-allocated direct buffers. */
public final class TestZones {

    public static final long[] DEFAULT_BOUNDS = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

    private TestZones() {
    }

    /** A zeroed direct buffer with the header the master writes. */
    public static ByteBuffer buffer(int length, long shmSize, int statusMode, long... boundsMs) {
        ByteBuffer b = ByteBuffer.allocateDirect(length).order(ByteOrder.nativeOrder());
        b.putLong(MAGIC_OFFSET, MAGIC);
        b.putInt(LAYOUT_VERSION_OFFSET, LAYOUT_VERSION);
        b.putInt(HEADER_LENGTH_OFFSET, HEADER_LENGTH);
        b.putLong(ZONE_LENGTH_OFFSET, length);
        b.putInt(BUCKET_COUNT_OFFSET, boundsMs.length);
        b.putInt(STATUS_MODE_OFFSET, statusMode);
        for (int i = 0; i < boundsMs.length; i++) {
            b.putLong(BUCKET_BOUNDS_OFFSET + i * Long.BYTES, boundsMs[i]);
        }
        b.putLong(SHM_SIZE_OFFSET, shmSize);
        return b;
    }

    public static ByteBuffer buffer(int length) {
        return buffer(length, length, STATUS_MODE_EXACT, DEFAULT_BOUNDS);
    }

    /**
     * Puts a ready tag at {@code index} of the tag table, as the master does
     * before its workers use the index as their records' source id (it
     * places it by ZoneHash; here the test chooses the index).
     */
    public static void putTag(ByteBuffer zone, int index, String tag) {
        byte[] text = tag.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int off = TAG_TABLE_OFFSET + index * TAG_ENTRY_LENGTH;
        for (int k = 0; k < text.length; k++) {
            zone.put(off + TAG_TEXT_OFFSET + k, text[k]);
        }
        zone.putLong(off + TAG_STATE_OFFSET, TAG_READY | (long) text.length << 8);
        zone.putLong(TAGS_USED_OFFSET, zone.getLong(TAGS_USED_OFFSET) + 1);
    }

    public static SharedZone open(ByteBuffer b) {
        try {
            return SharedZone.open(b);
        } catch (ZoneFormatException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    public static SharedZone zone(int length) {
        return open(buffer(length));
    }

    /** A journal of 1 MiB over {@code zone}, in a buffer of its own (no rings). */
    public static Journal journal(SharedZone zone) {
        ByteBuffer b = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.nativeOrder());
        return new Journal(zone, b, 0, b.capacity());
    }

    /** A record buffer of {@code n} records, native order. */
    public static ByteBuffer records(int n) {
        return ByteBuffer.allocateDirect(n * RECORD_LENGTH).order(ByteOrder.nativeOrder());
    }

    /** Writes record {@code i} as the C log phase would. {@code upstreamMs < 0}: not proxied. */
    public static void record(ByteBuffer r, int i, int sourceId, String vip, int status,
                              long in, long out, long requestMs, long upstreamMs) {
        int base = i * RECORD_LENGTH;
        Vip v = Vip.parse(vip);
        r.putLong(base + BYTES_IN_OFFSET, in);
        r.putLong(base + BYTES_OUT_OFFSET, out);
        r.putLong(base + REQUEST_TIME_OFFSET, requestMs);
        r.putLong(base + UPSTREAM_TIME_OFFSET, upstreamMs < 0 ? 0 : upstreamMs);
        r.putLong(base + ADDR_OFFSET, v.hi);
        r.putLong(base + ADDR_OFFSET + 8, v.lo);
        r.putInt(base + SOURCE_ID_OFFSET, sourceId);
        r.putShort(base + STATUS_OFFSET, (short) status);
        r.put(base + FAMILY_OFFSET, (byte) v.family);
        r.put(base + FLAGS_OFFSET, (byte) (upstreamMs < 0 ? 0 : FLAG_UPSTREAM));
        r.putLong(base + RESERVED_OFFSET, 0);
    }
}
