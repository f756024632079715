package ch.ipng.stats.testing;

import static ch.ipng.stats.layout.RecordDescriptor.RECORD_LENGTH;

import ch.ipng.stats.aggregate.Aggregator;
import ch.ipng.stats.zone.Journal;
import ch.ipng.stats.zone.SharedZone;
import java.nio.ByteBuffer;

/**
 * An {@link Aggregator} with a journal of its own, for tests that count
 * records without rings: each flush is a transaction, committed at once,
 * and a drain or add that finds no room flushes first, as the stats
 * process's consumer ends its transaction there.
 */
public final class TestAggregator {

    public final Aggregator aggregator;
    public final Journal journal;

    public TestAggregator(SharedZone zone, int[] tagBySource) {
        this(zone, tagBySource, Aggregator.DEFAULT_SERIES_CAPACITY, Aggregator.DEFAULT_CODE_CAPACITY);
    }

    public TestAggregator(SharedZone zone, int[] tagBySource, int seriesCapacity, int codeCapacity) {
        journal = TestZones.journal(zone);
        aggregator = new Aggregator(zone, tagBySource, journal, seriesCapacity, codeCapacity);
    }

    /** Interns the tags, source id = index. */
    public static TestAggregator of(SharedZone zone, String... tags) {
        int[] ids = new int[tags.length];
        for (int i = 0; i < tags.length; i++) {
            ids[i] = zone.internTag(tags[i]);
        }
        return new TestAggregator(zone, ids);
    }

    /** Records [0, n) of {@code records}, in as many transactions as they need (the last one left open). */
    public void drain(ByteBuffer records, int n) {
        int done = 0;
        while (true) {
            done += aggregator.drain(records, done * RECORD_LENGTH, n - done, journal.free());
            if (done == n) {
                return;
            }
            flush();
        }
    }

    /** {@link Aggregator#add}, after a flush if there is no room. */
    public void add(int sourceId, int family, long hi, long lo, int status,
                    long in, long out, long requestMs, boolean upstream, long upstreamMs) {
        if (aggregator.room(journal.free()) == 0) {
            flush();
        }
        aggregator.add(sourceId, family, hi, lo, status, in, out, requestMs, upstream, upstreamMs);
    }

    /** The flush and its commit. */
    public void flush() {
        aggregator.flush();
        journal.commit();
    }
}
