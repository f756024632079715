package ch.ipng.stats.bench;

import ch.ipng.stats.aggregate.Aggregator;
import ch.ipng.stats.drain.Consumer;
import ch.ipng.stats.format.BuildInfo;
import ch.ipng.stats.format.ByteSink;
import ch.ipng.stats.format.Scrape;
import ch.ipng.stats.format.SegmentCache;
import ch.ipng.stats.testing.TestAggregator;
import ch.ipng.stats.testing.TestRings;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.Journal;
import ch.ipng.stats.zone.SharedZone;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The Java core's hot paths on the reference workload of the configuration
 * reference: 4 source tags x 50 VIPs (25 IPv4, 25 IPv6) x 60 status codes =
 * 12,000 keys in a 4m zone with the default 12 buckets.
 * <ul>
 * <li>{@link #drainRing}: the drain thread's pass over a ring holding 256
 *     published records (256 keys): lock, one transaction (the records into
 *     the private table, its flush through the journal, TAIL, the commit),
 *     unlock, reported per record ({@code -prof gc}: B/op per record);</li>
 * <li>{@link #drainWokenRing}: the same over 4,096 records of those 256
 *     keys, the pass a worker's wake at a quarter-full ring starts (a busy
 *     worker's records between two passes);</li>
 * <li>{@link #drainBatch}: the same 256 records into the private table only,
 *     no flush: the per-record loop the transaction starts with;</li>
 * <li>{@link #flushAllKeys}: one flush of deltas on all 12,000 keys (and 200
 *     series histograms) into the zone through the journal, and its commit;</li>
 * <li>{@link #renderPrometheus}, {@link #renderOpenMetrics}, {@link #renderJson}:
 *     one scrape's rendering of all 12,000 keys (snapshot read included)
 *     in 64 KB chunks copied out to native memory
 *     ({@link #renderPrometheusCold}: with the caches emptied first, as a
 *     scrape every few seconds finds them);</li>
 * <li>{@link #rateTick}: the once-a-second EWMA tick over the zone's series,
 *     which the drain thread runs.</li>
 * </ul>
 * Run with {@code bench/jmh.sh} (see README, "Performance").
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CoreBenchmark {

    static final int SOURCES = 4;
    static final int VIPS = 50;
    static final int CODES = 60;
    static final int KEYS = SOURCES * VIPS * CODES;
    static final int BATCH = 256;
    static final int ZONE_BYTES = 4 << 20;
    static final String[] TAGS = {"mg1", "mg2", "mg3", "direct"};

    static String vip(int v) {
        return v % 2 == 0 ? "192.0.2." + (v / 2 + 1) : "2001:db8::" + Integer.toHexString(v / 2 + 1);
    }

    static int code(int c) {
        return 100 + c * 8; // 60 distinct codes in 100..572
    }

    static int[] intern(SharedZone zone) {
        int[] tagBySource = new int[TAGS.length];
        for (int i = 0; i < TAGS.length; i++) {
            tagBySource[i] = zone.internTag(TAGS[i]);
        }
        return tagBySource;
    }

    /** Writes key {@code k} (0..KEYS) as record {@code i}. */
    static void key(ByteBuffer records, int i, int k) {
        int source = k % SOURCES;
        int v = k / SOURCES % VIPS;
        int c = k / (SOURCES * VIPS);
        TestZones.record(records, i, source, vip(v), code(c), 300 + k % 700, 1000 + k % 9000,
            k % 300, k % 5 == 0 ? k % 200 : -1);
    }

    /** A zone holding all 12,000 keys with counts and rates. */
    public static SharedZone fullZone() {
        SharedZone zone = TestZones.zone(ZONE_BYTES);
        TestAggregator a = new TestAggregator(zone, intern(zone), 1024, 16384);
        ByteBuffer records = TestZones.records(KEYS);
        for (int k = 0; k < KEYS; k++) {
            key(records, k, k);
        }
        long now = 1_700_000_000L;
        for (int round = 0; round < 3; round++) {
            a.drain(records, KEYS);
            a.flush();
            zone.tick(now + round);
        }
        if (zone.codesUsed() != KEYS || zone.zoneFullEvents() != 0) {
            throw new IllegalStateException("zone holds " + zone.codesUsed() + " keys");
        }
        return zone;
    }

    /** Key of the i-th record of a batch: 256 different keys spread over tags, VIPs and codes. */
    static int batchKey(int i) {
        return (int) ((long) (i % BATCH) * 47 % KEYS);
    }

    @State(Scope.Thread)
    public static class DrainState {
        Aggregator aggregator;
        Journal journal;
        ByteBuffer batch;

        @Setup(Level.Trial)
        public void setup() {
            SharedZone zone = TestZones.zone(ZONE_BYTES);
            journal = TestZones.journal(zone);
            aggregator = new Aggregator(zone, intern(zone), journal);
            batch = TestZones.records(BATCH);
            for (int i = 0; i < BATCH; i++) {
                key(batch, i, batchKey(i));
            }
            drain();
            aggregator.flush();
            journal.commit();
        }

        void drain() {
            if (aggregator.drain(batch, 0, BATCH, journal.free()) != BATCH) {
                throw new IllegalStateException("the batch did not fit");
            }
        }
    }

    /**
     * A worker's ring of 16,384 slots, every one holding a record of the
     * 256-key batch, and the stats process's consumer of it: each
     * invocation publishes {@code pass} more (HEAD moves; the slots' records
     * were written once, as a producer would have written them) and drains
     * them.
     */
    @State(Scope.Thread)
    public static class RingState {
        static final int SLOTS = 16384;
        final TestRings rings = new TestRings(1, SLOTS);
        final int pass;
        Consumer consumer;

        public RingState() {
            this(BATCH);
        }

        RingState(int pass) {
            this.pass = pass;
        }

        @Setup(Level.Trial)
        public void setup() throws InterruptedException {
            SharedZone zone = TestZones.zone(ZONE_BYTES);
            rings.claim(0, 4242, 0);
            for (int i = 0; i < SLOTS; i++) {
                rings.publish(0, 0, "192.0.2.1", 200, 0, 0, 0, -1);     // placeholders, written over below
            }
            for (int i = 0; i < SLOTS; i++) {
                key(rings.buffer, rings.recordOffset(0, i) / ch.ipng.stats.layout.RecordDescriptor.RECORD_LENGTH, batchKey(i));
            }
            consumer = new Consumer(zone, rings.open(), intern(zone), 1, TestRings.ALIVE);
            consumer.lock();
            try {
                consumer.drainToHeads();    // the keys claimed in the zone, as in a steady state
            } finally {
                consumer.unlock();
            }
        }

        int pass() throws InterruptedException {
            rings.advanceHead(0, pass);
            int transactions = 0;
            boolean more = true;
            while (more) {
                consumer.lock();
                try {
                    more = consumer.drainOnce();
                } finally {
                    consumer.unlock();
                }
                transactions++;
            }
            return transactions;
        }

        @TearDown(Level.Trial)
        public void check() {
            if (rings.word(0, ch.ipng.stats.layout.RingDescriptor.TAIL_OFFSET)
                    != rings.word(0, ch.ipng.stats.layout.RingDescriptor.HEAD_OFFSET)) {
                throw new IllegalStateException("the passes left records behind");
            }
        }
    }

    @State(Scope.Thread)
    public static class FlushState {
        SharedZone zone;
        Aggregator aggregator;
        Journal journal;
        ByteBuffer records;

        @Setup(Level.Trial)
        public void setup() {
            zone = TestZones.zone(ZONE_BYTES);
            journal = TestZones.journal(zone);
            aggregator = new Aggregator(zone, intern(zone), journal, 1024, 16384);
            records = TestZones.records(KEYS);
            for (int k = 0; k < KEYS; k++) {
                key(records, k, k);
            }
            refill();
            flush();        // claims every zone slot once
        }

        /** Every key has a delta again (not measured; about 1 ms, so per-invocation setup is fine). */
        @Setup(Level.Invocation)
        public void refill() {
            if (aggregator.drain(records, 0, KEYS, journal.free()) != KEYS) {
                throw new IllegalStateException("the keys did not fit one transaction");
            }
        }

        void flush() {
            aggregator.flush();
            journal.commit();
        }
    }

    @State(Scope.Thread)
    public static class RenderState {
        /*
         * like NativeBridge's render: one 64 KB chunk, each full chunk copied
         * out (there into the answer's array, here into native memory
         * allocated once)
         */
        final ByteBuffer answer = ByteBuffer.allocateDirect(8 << 20);
        final ByteSink out = new ByteSink(1 << 16).overflowTo((b, len) -> answer.put(b, 0, len));
        SharedZone zone;
        BuildInfo build;
        final byte[] json = "application/json".getBytes();
        final byte[] openMetrics = "application/openmetrics-text; version=1.0.0".getBytes();

        @Setup(Level.Trial)
        public void setup() {
            zone = fullZone();
            build = new BuildInfo("0.1.0", "1.22.1", System.getProperty("java.version"));
        }

        final byte[] gzip = "gzip".getBytes();

        ByteBuffer render(byte[] accept) throws java.io.IOException {
            return render(accept, null);
        }

        ByteBuffer render(byte[] accept, byte[] acceptEncoding) throws java.io.IOException {
            answer.clear();
            Scrape.render(out, zone, build, null, accept, acceptEncoding);
            out.finish();
            return answer;
        }
    }

    /** {@link RingState} of 4,096 records a pass: a pass a worker's wake starts. */
    @State(Scope.Thread)
    public static class WokenRingState extends RingState {
        static final int WOKEN = 4096;

        public WokenRingState() {
            super(WOKEN);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int drainRing(RingState s) throws InterruptedException {
        return s.pass();
    }

    @Benchmark
    @OperationsPerInvocation(WokenRingState.WOKEN)
    public int drainWokenRing(WokenRingState s) throws InterruptedException {
        return s.pass();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void drainBatch(DrainState s) {
        s.drain();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void flushAllKeys(FlushState s) {
        s.flush();
    }

    /**
     * The same 12,000 keys known to the private table, one of them busy: one
     * record drained, then a flush and its commit. A steady state with a long
     * tail of idle keys; the flush should cost per changed key, not per
     * known key.
     */
    @State(Scope.Thread)
    public static class FlushOneState {
        FlushState all;
        final ByteBuffer one = TestZones.records(1);

        @Setup(Level.Trial)
        public void setup() {
            all = new FlushState();
            all.setup();
            key(one, 0, KEYS / 2);
        }
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void flushOneOfAllKeys(FlushOneState s) {
        s.all.aggregator.drain(s.one, 0, 1, s.all.journal.free());
        s.all.flush();
    }

    @State(Scope.Thread)
    public static class TickState {
        SharedZone zone;
        long second = 1_800_000_000L;

        @Setup(Level.Trial)
        public void setup() {
            zone = fullZone();
        }
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public boolean rateTick(TickState s) {
        return s.zone.tick(++s.second);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public ByteBuffer renderPrometheus(RenderState s) throws Exception {
        return s.render(null);
    }

    /**
     * The render state with the CPU's caches emptied before each render (64 MB
     * written, not measured): a scrape comes every few seconds and
     * finds the zone and its own tables out of the caches, which the warm
     * benchmark above never sees.
     */
    @State(Scope.Thread)
    public static class ColdRenderState extends RenderState {
        final byte[] sweep = new byte[64 << 20];

        @Setup(Level.Invocation)
        public void evict() {
            for (int i = 0; i < sweep.length; i += 64) {
                sweep[i]++;
            }
        }
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public ByteBuffer renderPrometheusCold(ColdRenderState s) throws Exception {
        return s.render(null);
    }

    /** What Prometheus gets: the same text, gzip (level 1). */
    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public ByteBuffer renderPrometheusGzip(RenderState s) throws Exception {
        return s.render(null, s.gzip);
    }

    /**
     * The module's scrape as Prometheus sends it, with the segments of the
     * last answer kept (SegmentCache): one key counted between two scrapes,
     * a long tail of idle keys, so all but one segment per family is spliced.
     */
    @State(Scope.Thread)
    public static class ReusingRenderState extends RenderState {
        final SegmentCache segments = new SegmentCache();
        TestAggregator aggregator;
        ByteBuffer records;
        int keys;

        /* after RenderState's setup: JMH runs a superclass's first */
        @Setup(Level.Trial)
        public void counting() {
            aggregator = new TestAggregator(zone, intern(zone), 1024, 16384);
            keys = changedKeys();
            records = TestZones.records(keys);
            for (int k = 0; k < keys; k++) {
                key(records, k, (int) ((long) k * 7919 % KEYS));
            }
        }

        int changedKeys() {
            return 1;
        }

        /** Counts come in between two scrapes (not measured). */
        @Setup(Level.Invocation)
        public void count() {
            aggregator.drain(records, keys);
            aggregator.flush();
        }

        ByteBuffer render() throws java.io.IOException {
            answer.clear();
            Scrape.render(out, segments, zone, 0, build, null, null, gzip);
            out.finish();
            return answer;
        }
    }

    /** The same with every key counted between two scrapes: nothing to splice, only the cuts' cost. */
    @State(Scope.Thread)
    public static class AllChangedRenderState extends ReusingRenderState {
        @Override
        int changedKeys() {
            return KEYS;
        }
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public ByteBuffer renderPrometheusGzipOneChanged(ReusingRenderState s) throws Exception {
        return s.render();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public ByteBuffer renderPrometheusGzipAllChanged(AllChangedRenderState s) throws Exception {
        return s.render();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public ByteBuffer renderOpenMetrics(RenderState s) throws Exception {
        return s.render(s.openMetrics);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public ByteBuffer renderJson(RenderState s) throws Exception {
        return s.render(s.json);
    }
}
