package ch.ipng.stats.bridge;

import static ch.ipng.stats.layout.ZoneDescriptor.TAG_CAPACITY;

import ch.ipng.stats.drain.Consumer;
import ch.ipng.stats.drain.Liveness;
import ch.ipng.stats.drain.Poller;
import ch.ipng.stats.drain.RingWait;
import ch.ipng.stats.drain.Rings;
import ch.ipng.stats.format.BuildInfo;
import ch.ipng.stats.format.ByteSink;
import ch.ipng.stats.format.Scrape;
import ch.ipng.stats.format.SegmentCache;
import ch.ipng.stats.layout.RecordDescriptor;
import ch.ipng.stats.zone.SharedZone;
import ch.ipng.stats.zone.ZoneFormatException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;

/**
 * The only class C calls, in the stats process (the contract: start, scrape,
 * lastError). All static, primitives and arrays in; every method catches
 * {@link Throwable}, keeps a one-line message for {@link #lastError()} and
 * returns null, so no exception ever crosses into nginx. The one native
 * method, C's futex wait ({@link RingWait.NativeFutex}), C registers
 * before start. The drain thread ({@link Poller}, "ipng-drain") moves the
 * workers' records into the zone; a scrape drains what was published
 * before it and renders, both under the {@link Consumer}'s lock.
 */
public final class NativeBridge {

    /*
     * No lambdas or method references here (nor in what start() loads): the
     * first use of each spins a class at run time (LambdaMetafactory), which
     * costs the JVM start milliseconds; the small classes at the end of this
     * file load from the jar (and the class data archive) instead.
     */

    private static SharedZone zone;
    private static Consumer consumer;
    private static BuildInfo build;
    private static Thread drainThread;
    private static volatile String lastError;
    private static LongSupplier epochSeconds = new WallClock();
    private static LongPredicate alive = Liveness.PROC;
    private static RingWait.Futex futex = new RingWait.NativeFutex();

    /**
     * How long start and a scrape wait for the drain lock: another stats
     * process (at a reload) holds it a transaction or a render at a time, so
     * this only runs out when one hangs, and they then fail instead of
     * hanging too. (Tests shorten it.)
     */
    static final long LOCK_SECONDS = 10;
    private static long lockSeconds = LOCK_SECONDS;
    /*
     * Scrapes render one at a time, under the consumer's lock: into chunks of
     * CHUNK bytes (compressed when the client takes gzip), collected in
     * `answer`, which is kept for the next scrape; the segments of the last
     * compressed answer are kept too (SegmentCache).
     */
    static final int CHUNK = 1 << 16;
    private static final ByteSink answer = new ByteSink(CHUNK);
    private static final ByteSink renderOut = new ByteSink(CHUNK).overflowTo(new Collect());
    private static final SegmentCache segments = new SegmentCache();

    private NativeBridge() {
    }

    /**
     * Validates the record layout signature, the counters zone header and the
     * rings zone header; takes the lock once to roll back an unfinished
     * transaction; starts the drain thread, which inherits the caller's
     * signal mask (C blocks every signal). {@code pid} is this process's,
     * from C (ProcessHandle.current() would cost the JVM start milliseconds:
     * its class initialization spins lambdas).
     *
     * <p>{@code generation} is the rings zone's GENERATION when the process
     * started: once the drain thread has caught up with every ring, it
     * announces it in DRAINING, and the stats process of an older
     * configuration, draining on in its exit, ends.
     *
     * <p>The drain thread sleeps up to {@code pollMillis} between passes,
     * less when a worker wakes it ({@link RingWait}).
     *
     * <p>A record's source id is the index of its tag in the zone's tag
     * table: the master interns every configuration's tags there before its
     * workers start, so the ids of old and new workers mean the same during a
     * reload, whichever stats process drains them.
     *
     * @return null on success, else a one-line reason (nothing is counted)
     */
    public static String start(ByteBuffer zoneBuffer, ByteBuffer ringsBuffer, long layoutSignature,
                               long pid, long generation, int pollMillis, String nginxVersion) {
        try {
            if (consumer != null) {
                return fail("already started");
            }
            if (layoutSignature != RecordDescriptor.LAYOUT_SIGNATURE) {
                return fail(String.format("record layout mismatch: C signature 0x%016x, jar 0x%016x",
                    layoutSignature, RecordDescriptor.LAYOUT_SIGNATURE));
            }
            if (pollMillis <= 0) {
                return fail("poll interval of " + pollMillis + " ms");
            }
            SharedZone z = SharedZone.open(zoneBuffer);
            Rings rings = Rings.open(ringsBuffer);
            int[] tagBySource = new int[TAG_CAPACITY];
            for (int i = 0; i < TAG_CAPACITY; i++) {
                tagBySource[i] = i;
            }
            Consumer c = new Consumer(z, rings, tagBySource, pid, alive);
            // rolls back what a stats process killed mid-transaction left
            if (!c.lock(TimeUnit.SECONDS.toNanos(lockSeconds))) {
                return fail(lockTimeout(c));
            }
            c.unlock();
            Thread t = new Thread(new Poller(c, pollMillis, epochSeconds, new Failures(),
                new Announce(rings, generation), new RingWait(rings, futex)), "ipng-drain");
            t.setDaemon(true);
            build = BuildInfo.of(nginxVersion);
            zone = z;
            consumer = c;
            drainThread = t;
            lastError = null;
            t.start();                      // now, under C's blocked signal mask
            return null;
        } catch (ZoneFormatException e) {
            return fail(e.getMessage());
        } catch (Throwable t) {
            return fail(describe(t));
        }
    }

    /**
     * Drains every ring to the HEAD it has now and copies the zone's numbers,
     * under the lock, then renders them, after it (the drain thread goes on):
     * {@code "<content-type>\n<body>"}, or {@code "<content-type>\tgzip\n<gzip
     * body>"} when {@code acceptEncoding} takes gzip (Scrape: Accept
     * negotiation, filters from {@code args}). Null on failure (see
     * {@link #lastError()}).
     */
    public static byte[] scrape(byte[] args, byte[] accept, byte[] acceptEncoding) {
        try {
            Consumer c = consumer;
            if (c == null) {
                fail("NativeBridge.start did not succeed");
                return null;
            }
            long start = System.nanoTime();
            if (!c.lock(TimeUnit.SECONDS.toNanos(lockSeconds))) {
                fail(lockTimeout(c));
                return null;
            }
            Scrape.Answer a;
            try {
                // the numbers under the lock, so that no half-made transaction shows ...
                c.drainToHeads();
                a = Scrape.read(renderOut, segments, zone, c.pendingDrops(), build, args, accept, acceptEncoding);
            } finally {
                c.unlock();
            }
            try {
                // ... their text after it, while the drain thread goes on
                Scrape.write(renderOut, a);
                renderOut.finish();
                byte[] out = answer.toByteArray();
                zone.recordScrape(System.nanoTime() - start);
                return out;
            } finally {
                renderOut.reset();
                answer.reset();
            }
        } catch (Throwable t) {
            if (t instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            fail(describe(t));
            return null;
        }
    }

    /** The last failure of start, scrape or the drain thread, one line, or null. */
    public static String lastError() {
        return lastError;
    }

    private static String lockTimeout(Consumer c) {
        return "the drain lock (LOCK) was held by pid " + c.lockHolder() + " for more than " + lockSeconds + " s";
    }

    private static String fail(String message) {
        lastError = message;
        return message;
    }

    private static String describe(Throwable t) {
        String m = t.getClass().getName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
        return m.replace('\n', ' ').replace('\r', ' ');
    }

    /** Tests only: a controllable clock for the EWMA tick, before start. */
    static void setClock(LongSupplier clock) {
        epochSeconds = clock;
    }

    /** Tests only: how long start and scrape wait for the lock. */
    static void setLockSeconds(long seconds) {
        lockSeconds = seconds;
    }

    /** Tests only: which pids count as alive, before start. */
    static void setLiveness(LongPredicate test) {
        alive = test;
    }

    /** Tests only: how the drain thread waits for a worker, before start. */
    static void setFutex(RingWait.Futex f) {
        futex = f;
    }

    /** Tests only: stops the drain thread and forgets the started state. */
    static void reset() throws InterruptedException {
        Thread t = drainThread;
        if (t != null) {
            t.interrupt();
            t.join();
        }
        drainThread = null;
        zone = null;
        consumer = null;
        build = null;
        lastError = null;
        epochSeconds = new WallClock();
        alive = Liveness.PROC;
        futex = new RingWait.NativeFutex();
        lockSeconds = LOCK_SECONDS;
    }

    /** The drain thread running, or null (tests). */
    static Thread drainThread() {
        return drainThread;
    }

    /** The rendered chunks, into the answer. */
    private static final class Collect implements ByteSink.Overflow {
        @Override
        public void take(byte[] b, int len) {
            answer.write(b, 0, len);
        }
    }

    /** DRAINING: this configuration's stats process keeps pace now (a replaced one may end). */
    private static final class Announce implements Runnable {
        private final Rings rings;
        private final long generation;

        Announce(Rings rings, long generation) {
            this.rings = rings;
            this.generation = generation;
        }

        @Override
        public void run() {
            rings.announceDraining(generation);
        }
    }

    private static final class Failures implements Poller.Failures {
        @Override
        public void failed(Throwable t) {
            fail("drain: " + describe(t));
        }
    }

    private static final class WallClock implements LongSupplier {
        @Override
        public long getAsLong() {
            return System.currentTimeMillis() / 1000;
        }
    }
}
