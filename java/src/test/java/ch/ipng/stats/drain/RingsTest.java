package ch.ipng.stats.drain;

import static ch.ipng.stats.layout.RingDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.testing.TestRings;
import ch.ipng.stats.zone.ZoneFormatException;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class RingsTest {

    private static String rejection(Consumer<ByteBuffer> damage) {
        TestRings t = new TestRings(2, 16, 4096);
        damage.accept(t.buffer);
        ByteBuffer before = ByteBuffer.allocate(t.buffer.capacity());
        before.put(t.buffer.duplicate().clear());
        ZoneFormatException e = assertThrows(ZoneFormatException.class, () -> Rings.open(t.buffer));
        assertEquals(before.flip(), t.buffer.duplicate().clear(), "a rejected zone is never written");
        assertFalse(e.getMessage().contains("\n"));
        return e.getMessage();
    }

    @Test
    void opensTheZoneTheMasterMade() {
        TestRings t = new TestRings(3, 32, 4096);
        Rings r = t.open();
        assertEquals(3, r.count());
        assertEquals(32, r.capacity());
        assertEquals(256, r.ringOffset(0));
        assertEquals(256 + 256 + 32 * 64, r.ringOffset(1));
        assertEquals(r.ringOffset(2) + 256 + 5 * 64, r.recordOffset(2, 37), "record 37 of 32 slots is slot 5");
    }

    @Test
    void rejectsWhatItDoesNotUnderstand() {
        assertEquals("rings zone magic is 0x000000000000002a, expected 0x474e4952474e5049",
            rejection(b -> b.putLong(MAGIC_OFFSET, 42)));
        assertEquals("rings zone layout version is 2, expected 1", rejection(b -> b.putInt(LAYOUT_VERSION_OFFSET, 2)));
        assertEquals("rings zone header length is 512, expected 256",
            rejection(b -> b.putInt(HEADER_LENGTH_OFFSET, 512)));
        assertEquals("rings zone record length is 32, expected 64", rejection(b -> b.putInt(RECORD_LENGTH_OFFSET, 32)));
        assertEquals("rings zone ring header length is 128, expected 256",
            rejection(b -> b.putInt(RING_HEADER_LENGTH_OFFSET, 128)));
        assertEquals("rings zone ring capacity is 24, not a power of two",
            rejection(b -> b.putInt(RING_CAPACITY_OFFSET, 24)));
        assertEquals("rings zone holds no ring", rejection(b -> b.putInt(RING_COUNT_OFFSET, 0)));
        assertEquals("rings zone wake threshold is 0 records, not 1..16",
            rejection(b -> b.putInt(WAKE_RECORDS_OFFSET, 0)));
        assertEquals("rings zone wake threshold is 17 records, not 1..16",
            rejection(b -> b.putInt(WAKE_RECORDS_OFFSET, 17)));
        assertTrue(rejection(b -> b.putLong(ZONE_LENGTH_OFFSET, 1 << 20)).contains("but the buffer has"));
        assertTrue(rejection(b -> b.putInt(RING_COUNT_OFFSET, 3)).contains("between the last ring"),
            "a third ring would run into the journal");
        assertTrue(rejection(b -> b.putLong(JOURNAL_LENGTH_OFFSET, 8192)).contains("the zone's end"));
        assertTrue(rejection(b -> b.putLong(JOURNAL_OFFSET_OFFSET, b.getLong(JOURNAL_OFFSET_OFFSET) + 4))
            .contains("not 8-byte aligned"));
        assertThrows(ZoneFormatException.class, () -> Rings.open(ByteBuffer.allocate(4096)), "not direct");
    }

    @Test
    void pendingDropsAreTheNoRingDropsAndTheOwnedRingsUnseenOnes() {
        TestRings t = new TestRings(3, 4, 4096);
        t.claim(0, 11, 0);
        t.claim(1, 12, 1);
        for (int i = 0; i < 7; i++) {
            t.publish(0, 0, "192.0.2.1", 200, 1, 1, 1, -1);
        }
        t.buffer.putLong(t.ringOffset(0) + DROPPED_SEEN_OFFSET, 1);
        t.buffer.putLong(t.ringOffset(2) + DROPPED_OFFSET, 100);     // a free ring: not counted
        t.noRingDrop();
        t.noRingDrop();
        assertEquals(2 + (3 - 1), t.open().pendingDrops());
    }
}
