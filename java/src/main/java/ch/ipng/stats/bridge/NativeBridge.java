package ch.ipng.stats.bridge;

import ch.ipng.stats.aggregate.Aggregator;
import ch.ipng.stats.format.BuildInfo;
import ch.ipng.stats.format.ByteSink;
import ch.ipng.stats.format.Scrape;
import ch.ipng.stats.format.SegmentCache;
import ch.ipng.stats.layout.RecordDescriptor;
import ch.ipng.stats.zone.SharedZone;
import ch.ipng.stats.zone.ZoneFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;

/**
 * The only class C calls (contract.md section 3). All static, primitives and
 * arrays in; every method catches {@link Throwable}, keeps a one-line message
 * for {@link #lastError()} and returns -1 / null, so no exception ever crosses
 * into nginx. Called from the worker's event loop thread only.
 */
public final class NativeBridge {

    private static SharedZone zone;
    private static Aggregator aggregator;
    private static ByteBuffer records;
    private static int recordCapacity;
    private static BuildInfo build;
    private static volatile String lastError;
    private static LongSupplier epochSeconds = new WallClock();

    /*
     * No lambdas or method references here (nor in what start() loads): the
     * first use of each spins a class at run time (LambdaMetafactory), and
     * those took about 15 of the 40 ms between loading this class and the
     * end of start() in a worker's JVM start (-Xlog:class+load). The small
     * classes at the end of this file load from the jar instead.
     */

    /*
     * Rendering off the event loop (scrapeBegin/scrapeEnd): one daemon thread,
     * started inside start() while C has every signal blocked (a thread
     * inherits its creator's mask, and nginx's signals must keep landing on
     * the event loop), renders one scrape at a time and tells C through
     * notifyDone, which C registers (RegisterNatives) and which only writes
     * to an eventfd the event loop watches.
     */
    private static ExecutorService renderer;
    /*
     * The render thread's output: a 64 KB chunk, reused, that hands each full
     * chunk to C (answerAppend), which collects the answer in memory mapped
     * for it, sends it from there and unmaps it when the request is done. So
     * the heap keeps no 3 MB answer between scrapes, and the event loop copies
     * nothing.
     */
    static final int CHUNK = 1 << 16;
    private static final ToC TO_C = new ToC();
    /* where renderOut's chunks go, set at each render (tests replace it) */
    static volatile ByteSink.Overflow answer = TO_C;
    private static final ByteSink renderOut = new ByteSink(CHUNK);
    /* the render thread's compressed segments of its last answer, reused where no count changed */
    private static final SegmentCache renderSegments = new SegmentCache();
    /* the ticket whose answer C holds (0: none), and its length */
    private static volatile int renderedTicket;
    private static volatile int renderedLength;
    private static volatile String renderError;
    private static int ticket;
    static volatile IntConsumer done = TO_C;

    private static native void notifyDone(int ticket);

    private static native int answerAppend(byte[] b, int len);

    private static void appendAnswer(byte[] b, int len) {
        if (answerAppend(b, len) != 0) {
            throw new IllegalStateException("could not map memory for a scrape answer of "
                + renderOut.written() + " bytes");
        }
    }

    /*
     * Every TRIM_SECONDS the render thread asks C to malloc_trim: glibc keeps
     * what the JIT compiler freed (measured, when C still copied each answer
     * into its heap: worker RSS 85 -> 68 MB after 20 s of load and
     * 12,000-key scrapes).
     */
    static final long TRIM_SECONDS = 5;
    static volatile Runnable trimHeap = TO_C;

    private static native void trimNativeHeap();

    private static void trim() {
        try {
            trimHeap.run();
        } catch (Throwable t) {
            // only a nicety: never let it end the scheduled task
        }
    }

    private NativeBridge() {
    }

    /**
     * Validates the layout signature and the zone header, interns the source
     * tags and sets up this worker's private table. {@code pid} is the
     * worker's, from C (ProcessHandle.current() would cost the JVM start 11
     * ms: its class initialization spins lambdas).
     *
     * @return null on success, else a one-line reason (counting stays off)
     */
    public static String start(ByteBuffer zoneBuffer, ByteBuffer recordBuffer, int capacity,
                               long layoutSignature, byte[][] sourceTags, int workerId, long pid,
                               String nginxVersion) {
        try {
            if (layoutSignature != RecordDescriptor.LAYOUT_SIGNATURE) {
                return fail(String.format("record layout mismatch: C signature 0x%016x, jar 0x%016x",
                    layoutSignature, RecordDescriptor.LAYOUT_SIGNATURE));
            }
            if (recordBuffer == null || !recordBuffer.isDirect() || capacity < 0
                    || (long) capacity * RecordDescriptor.RECORD_LENGTH > recordBuffer.capacity()) {
                return fail("record buffer missing or smaller than " + capacity + " records");
            }
            if (sourceTags == null) {
                return fail("no source tags");
            }
            SharedZone z = SharedZone.open(zoneBuffer);
            int[] tagBySource = new int[sourceTags.length];
            for (int i = 0; i < sourceTags.length; i++) {
                tagBySource[i] = sourceTags[i] == null ? -1 : z.internTag(utf8(sourceTags[i]));
            }
            z.registerWorker(workerId, pid);
            ByteBuffer r = recordBuffer.duplicate().order(ByteOrder.nativeOrder());
            r.clear();
            records = r;
            recordCapacity = capacity;
            aggregator = new Aggregator(z, tagBySource, workerId);
            build = BuildInfo.of(nginxVersion);
            zone = z;
            if (renderer == null) {
                ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(1, new RenderThread());
                pool.prestartAllCoreThreads();    // now, under C's blocked signal mask
                pool.scheduleWithFixedDelay(new Trim(), TRIM_SECONDS, TRIM_SECONDS, TimeUnit.SECONDS);
                renderer = pool;
            }
            lastError = null;
            return null;
        } catch (ZoneFormatException e) {
            return fail(e.getMessage());
        } catch (Throwable t) {
            return fail(describe(t));
        }
    }

    /** A tag's bytes, which nginx -t checked to be UTF-8, as a string; never a lossy decode. */
    static String utf8(byte[] tag) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(tag)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("source tag is not valid UTF-8: " + Arrays.toString(tag), e);
        }
    }

    /** Aggregates records[0..count) into the private table. 0, or -1 (see {@link #lastError()}). */
    public static int drain(int count) {
        try {
            doDrain(count);
            return 0;
        } catch (Throwable t) {
            fail(describe(t));
            return -1;
        }
    }

    /** Drain, flush into the zone, then try to win this second's EWMA tick. 0 or -1. */
    public static int tick(int count) {
        try {
            doDrain(count);
            aggregator.flush();
            zone.tick(epochSeconds.getAsLong());
            return 0;
        } catch (Throwable t) {
            fail(describe(t));
            return -1;
        }
    }

    /**
     * Drain, flush, render, all on the caller's thread. Returns
     * {@code "<content-type>\n<body>"} as UTF-8 bytes, or null (see
     * {@link #lastError()}). The module uses {@link #scrapeBegin} and
     * {@link #scrapeEnd} instead, which render off the event loop; this one
     * serves tools and tests that want the answer in one call.
     */
    public static byte[] scrape(int count, byte[] args, byte[] accept) {
        try {
            long start = System.nanoTime();
            doDrain(count);
            aggregator.flush();
            zone.tick(epochSeconds.getAsLong());
            byte[] answer = Scrape.render(zone, build, args, accept);
            zone.recordScrape(System.nanoTime() - start);
            return answer;
        } catch (Throwable t) {
            fail(describe(t));
            return null;
        }
    }

    /**
     * Drain, flush and tick on the event loop, then render on the render
     * thread; when it is done, {@link #done} gets the returned ticket and C
     * collects the answer with {@link #scrapeEnd}. One scrape at a time: C
     * queues the others. {@code accept} and {@code acceptEncoding} are the
     * request's headers of those names, or null. Returns the ticket (> 0),
     * or -1 (see {@link #lastError()}).
     */
    public static int scrapeBegin(int count, byte[] args, byte[] accept, byte[] acceptEncoding) {
        try {
            long start = System.nanoTime();
            doDrain(count);
            aggregator.flush();
            zone.tick(epochSeconds.getAsLong());
            int t = ++ticket > 0 ? ticket : (ticket = 1);
            renderedTicket = 0;
            renderError = null;
            renderer.execute(new Render(t, zone, build, args, accept, acceptEncoding, start));
            return t;
        } catch (Throwable t) {
            fail(describe(t));
            return -1;
        }
    }

    /**
     * The length of the answer of the scrape {@code t}, which the render
     * thread handed to C ({@code "<content-type>\n<body>"}, or
     * {@code "<content-type>\tgzip\n<gzip body>"}, through
     * answerAppend), or -1 (see {@link #lastError()}). C starts a new answer
     * at each {@link #scrapeBegin}, dropping one it did not collect.
     */
    public static int scrapeEnd(int t) {
        if (t != ticket || renderedTicket != t) {
            fail(renderError != null ? renderError : "no rendered answer for scrape " + t);
            return -1;
        }
        renderedTicket = 0;
        return renderedLength;
    }

    /** Worker exit: drain and flush. 0 or -1. */
    public static int exit(int count) {
        try {
            doDrain(count);
            aggregator.flush();
            return 0;
        } catch (Throwable t) {
            fail(describe(t));
            return -1;
        }
    }

    /** The last failure, one line, or null. */
    public static String lastError() {
        return lastError;
    }

    private static void doDrain(int count) {
        if (aggregator == null) {
            throw new IllegalStateException("NativeBridge.start did not succeed");
        }
        if (count < 0 || count > recordCapacity) {
            throw new IllegalArgumentException("record count " + count + " outside 0.." + recordCapacity);
        }
        aggregator.drain(records, count);
    }

    private static String fail(String message) {
        lastError = message;
        return message;
    }

    private static String describe(Throwable t) {
        String m = t.getClass().getName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
        return m.replace('\n', ' ').replace('\r', ' ');
    }

    /** Tests only: a controllable clock for the EWMA tick. */
    static void setClock(LongSupplier clock) {
        epochSeconds = clock;
    }

    /** Tests only: forget the started state. */
    static void reset() {
        zone = null;
        aggregator = null;
        records = null;
        recordCapacity = 0;
        lastError = null;
        epochSeconds = new WallClock();
        answer = TO_C;
    }

    /** One scrape's rendering, on the render thread. */
    private static final class Render implements Runnable {
        private final int ticket;
        private final SharedZone zone;
        private final BuildInfo build;
        private final byte[] args;
        private final byte[] accept;
        private final byte[] acceptEncoding;
        private final long start;

        Render(int ticket, SharedZone zone, BuildInfo build, byte[] args, byte[] accept, byte[] acceptEncoding,
               long start) {
            this.ticket = ticket;
            this.zone = zone;
            this.build = build;
            this.args = args;
            this.accept = accept;
            this.acceptEncoding = acceptEncoding;
            this.start = start;
        }

        @Override
        public void run() {
            try {
                renderOut.overflowTo(answer);
                Scrape.render(renderOut, renderSegments, zone, 0, build, args, accept, acceptEncoding);
                long length = renderOut.finish();
                zone.recordScrape(System.nanoTime() - start);
                renderedLength = Math.toIntExact(length);
                renderedTicket = ticket;
            } catch (Throwable e) {
                renderError = describe(e);
                renderOut.reset();              // frees a compressor at once
            } finally {
                done.accept(ticket);
            }
        }
    }

    /** The calls into C: the render's completion, its answer's chunks, the heap trim. */
    private static final class ToC implements IntConsumer, ByteSink.Overflow, Runnable {
        @Override
        public void accept(int ticket) {
            notifyDone(ticket);
        }

        @Override
        public void take(byte[] b, int len) {
            appendAnswer(b, len);
        }

        @Override
        public void run() {
            trimNativeHeap();
        }
    }

    private static final class RenderThread implements ThreadFactory {
        @Override
        public Thread newThread(Runnable run) {
            Thread t = new Thread(run, "ipng-render");
            t.setDaemon(true);
            return t;
        }
    }

    private static final class Trim implements Runnable {
        @Override
        public void run() {
            trim();
        }
    }

    private static final class WallClock implements LongSupplier {
        @Override
        public long getAsLong() {
            return System.currentTimeMillis() / 1000;
        }
    }
}
