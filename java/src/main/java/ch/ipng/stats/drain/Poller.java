package ch.ipng.stats.drain;

import java.util.function.LongSupplier;

/**
 * The drain thread's loop: a transaction, then a sleep of up to
 * {@code pollMillis} that a worker may cut short ({@link Sleeper}, in the
 * stats process {@link RingWait}), or at once again while rings still held
 * records it could not take; the release of closed rings each time, and
 * once a second (when the clock's second changes) the EWMA tick and the
 * release of rings whose owner died. A pass that fails is reported and the
 * next one tries again after the interval. The first pass that leaves no
 * ring behind calls {@code caughtUp} (the stats process it replaces ends
 * then). Ends when its thread is interrupted.
 */
public final class Poller implements Runnable {

    /** Where a failed pass is reported. */
    public interface Failures {
        void failed(Throwable t);
    }

    /** How the drain thread waits between passes. */
    public interface Sleeper {
        /** Up to {@code millis}, or less when there is work sooner. */
        void sleep(long millis) throws InterruptedException;
    }

    private final Consumer consumer;
    private final long pollMillis;
    private final LongSupplier epochSeconds;
    private final Failures failures;
    private final Sleeper sleeper;
    private Runnable caughtUp;

    public Poller(Consumer consumer, int pollMillis, LongSupplier epochSeconds, Failures failures,
                  Runnable caughtUp, Sleeper sleeper) {
        if (pollMillis <= 0) {
            throw new IllegalArgumentException("poll interval " + pollMillis + " ms");
        }
        this.consumer = consumer;
        this.pollMillis = pollMillis;
        this.epochSeconds = epochSeconds;
        this.failures = failures;
        this.caughtUp = caughtUp;
        this.sleeper = sleeper;
    }

    @Override
    public void run() {
        long second = Long.MIN_VALUE;
        while (!Thread.currentThread().isInterrupted()) {
            boolean more = false;
            boolean passed = false;
            try {
                consumer.lock();
                try {
                    more = consumer.drainOnce();
                    passed = true;
                    long now = epochSeconds.getAsLong();
                    consumer.releaseRings(now != second);
                    if (now != second) {
                        consumer.tick(now);
                        second = now;
                    }
                } finally {
                    consumer.unlock();
                }
            } catch (InterruptedException e) {
                return;
            } catch (Throwable t) {
                failures.failed(t);
                more = false;
            }
            if (passed && !more && caughtUp != null) {
                caughtUp.run();
                caughtUp = null;
            }
            if (!more) {
                try {
                    sleeper.sleep(pollMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
