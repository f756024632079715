package ch.ipng.stats.layout;

import static ch.ipng.stats.layout.ZoneDescriptor.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ZoneDescriptorTest {

    @Test
    void pinsTheHeaderOffsets() {
        assertEquals(0, MAGIC_OFFSET);
        assertEquals(8, LAYOUT_VERSION_OFFSET);
        assertEquals(12, HEADER_LENGTH_OFFSET);
        assertEquals(16, ZONE_LENGTH_OFFSET);
        assertEquals(24, BUCKET_COUNT_OFFSET);
        assertEquals(28, STATUS_MODE_OFFSET);
        assertEquals(32, BUCKET_BOUNDS_OFFSET);
        assertEquals(256, BUCKET_BOUNDS_LENGTH);
        assertEquals(288, JVM_START_ATTEMPTS_OFFSET);
        assertEquals(296, JVM_START_OK_OFFSET);
        assertEquals(304, SHM_SIZE_OFFSET);
        assertEquals(312, HEADER_RESERVED_OFFSET);
        assertEquals(512, HEADER_LENGTH);
        assertEquals(2, LAYOUT_VERSION);
    }

    @Test
    void magicIsIpngstatReadAsLittleEndian() {
        long magic = ByteBuffer.wrap("IPNGSTAT".getBytes(StandardCharsets.US_ASCII))
            .order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0x54415453474E5049L, MAGIC);
        assertEquals(magic, MAGIC);
    }

    @Test
    void pinsTheGlobals() {
        assertEquals(512, GLOBALS_OFFSET);
        assertEquals(512, CODE_KEYS_USED_OFFSET);
        assertEquals(520, SERIES_USED_OFFSET);
        assertEquals(528, ZONE_FULL_EVENTS_OFFSET);
        assertEquals(536, RATE_TICK_SECOND_OFFSET);
        assertEquals(544, TAGS_USED_OFFSET);
        assertEquals(552, SCRAPE_COUNT_OFFSET);
        assertEquals(560, SCRAPE_SUM_NANOS_OFFSET);
        assertEquals(568, SCRAPE_BUCKETS_OFFSET);
        assertEquals(696, IFINDEX_MISSES_OFFSET);
        assertEquals(704, DROPPED_RECORDS_OFFSET);
        assertEquals(16, SELF_BUCKET_COUNT);
        assertEquals(696, SCRAPE_BUCKETS_OFFSET + SCRAPE_BUCKETS_LENGTH);
        assertEquals(512, GLOBALS_LENGTH);
    }

    @Test
    void pinsTheTagAndWorkerTables() {
        assertEquals(1024, TAG_TABLE_OFFSET);
        assertEquals(256, TAG_CAPACITY);
        assertEquals(80, TAG_ENTRY_LENGTH);
        assertEquals(8, TAG_TEXT_OFFSET);
        assertEquals(72, TAG_TEXT_LENGTH);
        assertEquals(64, TAG_MAX_BYTES);
        assertEquals(20480, TAG_TABLE_LENGTH);
        assertEquals(21504, WORKER_TABLE_OFFSET);
        assertEquals(128, WORKER_CAPACITY);
        assertEquals(256, WORKER_ENTRY_LENGTH);
        assertEquals(0, WORKER_FLUSHES_OFFSET);
        assertEquals(8, WORKER_FLUSH_SUM_NANOS_OFFSET);
        assertEquals(16, WORKER_FLUSH_BUCKETS_OFFSET);
        assertEquals(144, WORKER_PID_OFFSET);
        assertEquals(32768, WORKER_TABLE_LENGTH);
    }

    @Test
    void pinsTheSeriesAndCodeSlots() {
        assertEquals(54272, SERIES_TABLE_OFFSET);
        assertEquals(0, SERIES_STATE_OFFSET);
        assertEquals(8, SERIES_ADDR_HI_OFFSET);
        assertEquals(16, SERIES_ADDR_LO_OFFSET);
        assertEquals(24, SERIES_RATE_SNAPSHOT_OFFSET);
        assertEquals(32, SERIES_RATE_1S_OFFSET);
        assertEquals(40, SERIES_RATE_10S_OFFSET);
        assertEquals(48, SERIES_RATE_60S_OFFSET);
        assertEquals(56, SERIES_HISTOGRAMS_OFFSET);
        assertEquals(3, HISTOGRAM_EXTRA_WORDS);
        assertEquals(1L << 63, SERIES_BUSY);
        assertEquals(1L << 62, SERIES_READY);
        assertEquals(0, CODE_KEY_OFFSET);
        assertEquals(8, CODE_REQUESTS_OFFSET);
        assertEquals(16, CODE_BYTES_IN_OFFSET);
        assertEquals(24, CODE_BYTES_OUT_OFFSET);
        assertEquals(32, CODE_SLOT_LENGTH);
    }
}
