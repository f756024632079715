package ch.ipng.stats.zone;

import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_COMMITTED;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_ENTRY_LENGTH;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_HEADER_LENGTH;
import static ch.ipng.stats.layout.RingDescriptor.JOURNAL_STATE_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.DROPPED_RECORDS_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.GLOBALS_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.IFINDEX_MISSES_OFFSET;
import static ch.ipng.stats.layout.ZoneDescriptor.ZONE_FULL_EVENTS_OFFSET;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.testing.TestZones;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class JournalTest {

    /* rings zone words the transactions below write: as if a ring header sat there */
    private static final int TAIL = 128;
    private static final int SEEN = 136;
    private static final int HEAD = 64;
    private static final int JOURNAL = 4096;

    /** A counters zone and a rings zone whose journal starts at 4096. */
    private static final class Zones {
        final ByteBuffer zoneBuffer = TestZones.buffer(1 << 20);
        final SharedZone zone = TestZones.open(zoneBuffer);
        final ByteBuffer rings = ByteBuffer.allocateDirect(JOURNAL + 2048).order(ByteOrder.nativeOrder());

        Journal journal() {
            return new Journal(zone, rings, JOURNAL, 2048);
        }

        /** The words the transaction touches: counters and ring words, in that order. */
        long[] words() {
            return new long[] {zoneBuffer.getLong(IFINDEX_MISSES_OFFSET), zoneBuffer.getLong(DROPPED_RECORDS_OFFSET),
                zoneBuffer.getLong(ZONE_FULL_EVENTS_OFFSET), rings.getLong(HEAD), rings.getLong(TAIL),
                rings.getLong(SEEN)};
        }

        long state() {
            return rings.getLong(JOURNAL + JOURNAL_STATE_OFFSET);
        }
    }

    /**
     * A transaction of every kind of store, one word twice: counters added
     * and set, a ring word of a gone producer reset, then a live ring's TAIL
     * and DROPPED_SEEN moved on commit.
     */
    private static void transaction(Journal j) {
        j.add(IFINDEX_MISSES_OFFSET, 5);
        j.add(DROPPED_RECORDS_OFFSET, 7);
        j.add(IFINDEX_MISSES_OFFSET, 11);
        j.put(ZONE_FULL_EVENTS_OFFSET, 42);
        j.putRing(HEAD, 0);
        j.putRingOnCommit(TAIL, 300);
        j.putRingOnCommit(SEEN, 9);
        j.commit();
    }

    private static Zones before() {
        Zones z = new Zones();
        z.zoneBuffer.putLong(IFINDEX_MISSES_OFFSET, 100);
        z.zoneBuffer.putLong(DROPPED_RECORDS_OFFSET, 200);
        z.rings.putLong(HEAD, 77);
        z.rings.putLong(TAIL, 250);
        z.rings.putLong(SEEN, 3);
        return z;
    }

    private static final long[] BEFORE = {100, 200, 0, 77, 250, 3};
    private static final long[] AFTER = {116, 207, 42, 0, 300, 9};

    @Test
    void aCommittedTransactionLeavesItsStoresAndAnEmptyJournal() {
        Zones z = before();
        transaction(z.journal());
        assertArrayEquals(AFTER, z.words());
        assertEquals(0, z.state());
        assertFalse(z.journal().recover(), "nothing to recover");
        assertArrayEquals(AFTER, z.words());
    }

    @Test
    void anOpenTransactionIsUndoneLastStoreFirst() {
        Zones z = before();
        Journal j = z.journal();
        j.add(IFINDEX_MISSES_OFFSET, 5);
        j.add(DROPPED_RECORDS_OFFSET, 7);
        j.add(IFINDEX_MISSES_OFFSET, 11);
        j.putRing(HEAD, 0);
        assertArrayEquals(new long[] {116, 207, 0, 0, 250, 3}, z.words(), "stores are made at once");
        assertEquals(4, z.state(), "four undo entries");
        assertTrue(z.journal().recover());
        assertArrayEquals(BEFORE, z.words());
        assertEquals(0, z.state());
    }

    @Test
    void redoStoresWaitForTheCommit() {
        Zones z = before();
        Journal j = z.journal();
        j.add(DROPPED_RECORDS_OFFSET, 7);
        j.putRingOnCommit(TAIL, 300);
        assertEquals(250, z.rings.getLong(TAIL), "TAIL moves only once committed");
        assertThrows(IllegalStateException.class, () -> j.add(IFINDEX_MISSES_OFFSET, 1), "undo after redo");
        assertTrue(z.journal().recover(), "died before the commit point");
        assertArrayEquals(BEFORE, z.words());
    }

    /**
     * A process may die between any two stores: the next holder's recovery
     * leaves every word as before the transaction (not committed yet) or as
     * after it (committed), never in between; and so does a recovery that
     * itself dies at any store and is recovered again.
     */
    @Test
    void aTransactionInterruptedAtEveryStoreRecoversToBeforeOrAfter() {
        int stores = 0;
        for (boolean done = false; !done; stores++) {
            Zones z = before();
            Journal dying = z.journal();
            dying.interruptAfter(stores);
            try {
                transaction(dying);
                done = true;
            } catch (Journal.Interrupted e) {
                // died here
            }
            boolean committed = (z.state() & JOURNAL_COMMITTED) != 0;
            for (int again = 0; ; again++) {
                Journal next = z.journal();
                next.interruptAfter(again);
                try {
                    next.recover();
                    break;
                } catch (Journal.Interrupted e) {
                    // the recovery died too: recovered by the one after
                }
            }
            assertEquals(0, z.state(), "after " + stores + " stores");
            assertArrayEquals(done || committed ? AFTER : BEFORE, z.words(), "after " + stores + " stores");
        }
        assertTrue(stores > 20, "every store of the transaction was a place to die: " + stores);
    }

    @Test
    void aTransactionNeverOutgrowsTheJournal() {
        Zones z = before();
        Journal j = z.journal();
        int capacity = (2048 - JOURNAL_HEADER_LENGTH) / JOURNAL_ENTRY_LENGTH;
        assertEquals(capacity, j.capacity());
        for (int k = 0; k < capacity; k++) {
            j.add(GLOBALS_OFFSET + 1024 + 8 * k, 1);
        }
        assertEquals(0, j.free());
        assertThrows(IllegalStateException.class, () -> j.add(IFINDEX_MISSES_OFFSET, 1));
        assertThrows(IllegalStateException.class, () -> j.putRingOnCommit(TAIL, 1));
        j.commit();
        assertEquals(capacity, j.free());
    }

    @Test
    void storesThatChangeNothingAreNotJournalled() {
        Zones z = before();
        Journal j = z.journal();
        j.add(IFINDEX_MISSES_OFFSET, 0);
        j.put(DROPPED_RECORDS_OFFSET, 200);
        j.putRing(HEAD, 77);
        assertEquals(j.capacity(), j.free());
        assertEquals(0, z.state());
    }

    @Test
    void aJournalNamingWordsOutsideTheZonesIsDroppedNotApplied() {
        Zones z = before();
        Journal j = z.journal();
        j.add(DROPPED_RECORDS_OFFSET, 7);
        // the entry now names the counters zone's header, which C owns
        z.rings.putLong(JOURNAL + JOURNAL_HEADER_LENGTH, 8);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> z.journal().recover());
        assertTrue(e.getMessage().contains("entry 0 names counters zone offset 8"), e.getMessage());
        assertEquals(0, z.state());
        assertEquals(207, z.zoneBuffer.getLong(DROPPED_RECORDS_OFFSET), "nothing restored");
        assertEquals(2, z.zoneBuffer.getInt(8), "the header untouched");
    }

    @Test
    void refusesAJournalThatDoesNotFit() {
        Zones z = new Zones();
        assertThrows(IllegalArgumentException.class, () -> new Journal(z.zone, z.rings, JOURNAL, 4096));
        assertThrows(IllegalArgumentException.class, () -> new Journal(z.zone, z.rings, JOURNAL + 4, 1024));
        assertThrows(IllegalArgumentException.class, () -> new Journal(z.zone, z.rings, JOURNAL, 64));
    }
}
