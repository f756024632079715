package ch.ipng.stats.layout;

import static ch.ipng.stats.layout.RingDescriptor.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The numbers C pins with _Static_assert in ngx_http_ipng_stats_module.h. */
class RingDescriptorTest {

    @Test
    void pinsTheHeaderOffsets() {
        assertEquals(0, MAGIC_OFFSET);
        assertEquals(8, LAYOUT_VERSION_OFFSET);
        assertEquals(12, HEADER_LENGTH_OFFSET);
        assertEquals(16, RING_COUNT_OFFSET);
        assertEquals(20, RING_CAPACITY_OFFSET);
        assertEquals(24, RECORD_LENGTH_OFFSET);
        assertEquals(28, RING_HEADER_LENGTH_OFFSET);
        assertEquals(32, ZONE_LENGTH_OFFSET);
        assertEquals(40, JOURNAL_OFFSET_OFFSET);
        assertEquals(48, JOURNAL_LENGTH_OFFSET);
        assertEquals(56, NO_RING_DROPS_OFFSET);
        assertEquals(64, LOCK_OFFSET);
        assertEquals(72, GENERATION_OFFSET);
        assertEquals(80, DRAINING_OFFSET);
        assertEquals(88, LISTENING_OFFSET);
        assertEquals(96, SLEEPING_OFFSET);
        assertEquals(4, SLEEPING_LENGTH);
        assertEquals(100, WAKE_RECORDS_OFFSET);
        assertEquals(104, HEADER_RESERVED_OFFSET);
        assertEquals(152, HEADER_RESERVED_LENGTH);
        assertEquals(256, HEADER_LENGTH);
        assertEquals(1, LAYOUT_VERSION);
    }

    @Test
    void magicIsIpngringReadAsLittleEndian() {
        long magic = ByteBuffer.wrap("IPNGRING".getBytes(StandardCharsets.US_ASCII))
            .order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0x474E4952474E5049L, MAGIC);
        assertEquals(magic, MAGIC);
    }

    @Test
    void pinsTheRingHeaderWithOneCacheLineEachForOwnerProducerAndConsumer() {
        assertEquals(0, OWNER_PID_OFFSET);
        assertEquals(8, WORKER_OFFSET);
        assertEquals(4, WORKER_LENGTH);
        assertEquals(12, WORKER_RESERVED_OFFSET);
        assertEquals(16, CLOSED_OFFSET);
        assertEquals(24, OWNER_RESERVED_OFFSET);
        assertEquals(64, HEAD_OFFSET);
        assertEquals(72, DROPPED_OFFSET);
        assertEquals(80, PRODUCER_RESERVED_OFFSET);
        assertEquals(128, TAIL_OFFSET);
        assertEquals(136, DROPPED_SEEN_OFFSET);
        assertEquals(144, CONSUMER_RESERVED_OFFSET);
        assertEquals(112, CONSUMER_RESERVED_LENGTH);
        assertEquals(256, RING_HEADER_LENGTH);
        assertEquals(256, RECORDS_OFFSET);
        assertEquals(1, CLOSED);
        assertEquals(64, RecordDescriptor.RECORD_LENGTH);
    }

    @Test
    void pinsTheJournal() {
        assertEquals(0, JOURNAL_STATE_OFFSET);
        assertEquals(64, JOURNAL_HEADER_LENGTH);
        assertEquals(0, JOURNAL_ENTRY_WHERE_OFFSET);
        assertEquals(8, JOURNAL_ENTRY_VALUE_OFFSET);
        assertEquals(16, JOURNAL_ENTRY_LENGTH);
        assertEquals(1L << 63, JOURNAL_COMMITTED);
        assertEquals(32, JOURNAL_REDO_SHIFT);
        assertEquals(1L << 63, JOURNAL_WHERE_RINGS);
        assertEquals(65_532, ((1 << 20) - JOURNAL_HEADER_LENGTH) / JOURNAL_ENTRY_LENGTH, "entries in 1 MiB");
    }
}
