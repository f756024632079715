package ch.ipng.stats.format;

import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * Cuts a long render into short slices with a sleep between them, so that
 * the render thread never holds the worker's core for long.
 *
 * <p>Why: the render thread usually shares one core with the worker's event
 * loop (worker_cpu_affinity, or a one-core container). Nice +10 gives it a
 * small share of that core, but the kernel hands the core over at a
 * scheduler tick (4 ms at HZ=250) and a thread that never sleeps keeps it
 * for a whole tick: measured with {@code perf sched timehist} under load,
 * a 12,000-key render ran in 4 ms pieces, and every piece was a 4 ms stall
 * of all the worker's connections (p99 4.4 ms against 1.15 ms stock). A
 * thread that sleeps after {@code slice} gives the core back itself, so a
 * stall is at most one slice. The total CPU of a render does not change;
 * its wall time grows by one pause per slice when the core is idle, and
 * under load it waits for its share instead of taking it in 4 ms bites.
 *
 * <p>Not thread-safe: one render at a time, like {@link ByteSink}.
 */
public final class Pacer implements Runnable {

    /*
     * The real clock and sleep, as a class rather than two method references:
     * each first use of a lambda spins a class at run time, which the worker's
     * JVM start pays for (see NativeBridge).
     */
    private static final class SystemTime implements LongSupplier, LongConsumer {
        @Override
        public long getAsLong() {
            return System.nanoTime();
        }

        @Override
        public void accept(long nanos) {
            LockSupport.parkNanos(nanos);
        }
    }

    private static final SystemTime SYSTEM_TIME = new SystemTime();

    /** Never pauses: renders outside the worker (tests, JMH, the exec-style check). */
    public static final Pacer NONE = new Pacer(0, 0, SYSTEM_TIME, SYSTEM_TIME);

    private final long sliceNanos;
    private final long pauseNanos;
    private final LongSupplier clock;
    private final LongConsumer sleep;
    private long sliceStart;
    private long pauses;

    /** The -D options that set the render thread's slice and pause (operators guide). */
    public static final String SLICE_PROPERTY = "ipng.render.sliceNanos";
    public static final String PAUSE_PROPERTY = "ipng.render.pauseNanos";

    /**
     * The render thread's pacer: 200 µs slices and 50 µs pauses unless the
     * JVM options say otherwise. Throws {@link IllegalArgumentException}
     * naming the option for a value that is not a whole number >= 0; the
     * configuration check (Check, run by {@code nginx -t}) calls this too, so
     * a typo fails the test instead of being ignored.
     */
    public static Pacer fromSystemProperties() {
        return new Pacer(nanos(SLICE_PROPERTY, 200_000), nanos(PAUSE_PROPERTY, 50_000));
    }

    static long nanos(String property, long dflt) {
        String v = System.getProperty(property);
        if (v == null) {
            return dflt;
        }
        try {
            long n = Long.parseLong(v);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // the message below names the option and the value
        }
        throw new IllegalArgumentException("-D" + property + "=" + v
            + ": not a number of nanoseconds (a whole number, 0 or more)");
    }

    /** Pauses {@code pauseNanos} after every {@code sliceNanos} of running time; 0 slice: never. */
    public Pacer(long sliceNanos, long pauseNanos) {
        this(sliceNanos, pauseNanos, SYSTEM_TIME, SYSTEM_TIME);
    }

    /** With a clock and a sleep of one's own (tests). */
    Pacer(long sliceNanos, long pauseNanos, LongSupplier clock, LongConsumer sleep) {
        this.sliceNanos = sliceNanos;
        this.pauseNanos = pauseNanos;
        this.clock = clock;
        this.sleep = sleep;
    }

    /** A render starts: its first slice starts now. */
    public void begin() {
        if (sliceNanos > 0) {
            sliceStart = clock.getAsLong();
        }
    }

    /** Called every little while by the render: pauses if the slice is used up. */
    public void check() {
        if (sliceNanos == 0) {
            return;
        }
        if (clock.getAsLong() - sliceStart >= sliceNanos) {
            sleep.accept(pauseNanos);
            pauses++;
            sliceStart = clock.getAsLong();
        }
    }

    /** {@link #check}: what the zone calls while it walks its tables for a render. */
    @Override
    public void run() {
        check();
    }

    /** How many pauses this pacer has made (tests, diagnostics). */
    public long pauses() {
        return pauses;
    }
}
