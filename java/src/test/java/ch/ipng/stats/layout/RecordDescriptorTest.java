package ch.ipng.stats.layout;

import static ch.ipng.stats.layout.RecordDescriptor.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RecordDescriptorTest {

    @Test
    void pinsEveryOffsetOfTheContract() {
        assertEquals(0, BYTES_IN_OFFSET);
        assertEquals(8, BYTES_OUT_OFFSET);
        assertEquals(16, REQUEST_TIME_OFFSET);
        assertEquals(24, UPSTREAM_TIME_OFFSET);
        assertEquals(32, ADDR_OFFSET);
        assertEquals(16, ADDR_LENGTH);
        assertEquals(48, SOURCE_ID_OFFSET);
        assertEquals(52, STATUS_OFFSET);
        assertEquals(54, FAMILY_OFFSET);
        assertEquals(55, FLAGS_OFFSET);
        assertEquals(56, RESERVED_OFFSET);
        assertEquals(64, RECORD_LENGTH);
        assertEquals(1, FLAG_UPSTREAM);
    }

    @Test
    void recordLengthIsAPowerOfTwoAndLongFieldsAreAligned() {
        assertEquals(1, Integer.bitCount(RECORD_LENGTH));
        for (int off : new int[] {BYTES_IN_OFFSET, BYTES_OUT_OFFSET, REQUEST_TIME_OFFSET,
                UPSTREAM_TIME_OFFSET, ADDR_OFFSET, RESERVED_OFFSET}) {
            assertEquals(0, off % 8, "offset " + off);
        }
    }

    @Test
    void signatureMatchesWhatCComputesForTheContractOffsets() {
        long expected = 64L | 8L << 8 | 16L << 16 | 24L << 24 | 32L << 32 | 48L << 40 | 52L << 48 | 54L << 56;
        assertEquals(expected, LAYOUT_SIGNATURE);
        assertEquals(0x3634302018100840L, LAYOUT_SIGNATURE);
    }
}
