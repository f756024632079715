package ch.ipng.stats.drain;

import java.util.concurrent.TimeUnit;

/**
 * The drain thread's sleep in the stats process: until a worker's ring
 * holds {@link Rings#wakeRecords()} records, or the interval ends. The
 * protocol over SLEEPING (RingDescriptor), a futex word:
 * <ol>
 * <li>here: SLEEPING = 1 (sequentially consistent), then every ring's HEAD
 *     and TAIL; if one holds WAKE_RECORDS or more, no sleep; else
 *     FUTEX_WAIT while SLEEPING is 1, up to the interval;</li>
 * <li>a worker (C), after its store-release of HEAD, when its ring holds
 *     WAKE_RECORDS and at every 1,024 records more: a full fence, then if
 *     SLEEPING is 1, exchange it to 0 and FUTEX_WAKE every waiter.</li>
 * </ol>
 * The two fences make it a Dekker pair: the worker sees SLEEPING = 1 or
 * this sees its HEAD, so a sleep never outlasts a quarter-full ring by
 * more than 1,024 records. Only a worker sets SLEEPING back to 0: several
 * drain threads (a reload's two stats processes) may sleep on the word at
 * once, and one that woke by its interval must not take the others' wake.
 * The price is at most one needless FUTEX_WAKE per interval, from a worker
 * whose ring reaches WAKE_RECORDS while the drain thread is awake.
 */
public final class RingWait implements Poller.Sleeper {

    /** FUTEX_WAIT on SLEEPING while it is 1, at most {@code nanos} (returns early on a wake or a signal). */
    public interface Futex {
        void await(long nanos);
    }

    /** The system call, which C registers in the stats process (ngx_http_ipng_stats_jvm.c). */
    public static final class NativeFutex implements Futex {
        @Override
        public void await(long nanos) {
            futexWait(nanos);
        }

        private static native void futexWait(long nanos);
    }

    private final Rings rings;
    private final Futex futex;

    public RingWait(Rings rings, Futex futex) {
        this.rings = rings;
        this.futex = futex;
    }

    @Override
    public void sleep(long millis) throws InterruptedException {
        rings.announceSleep();
        if (rings.fullest() < rings.wakeRecords()) {
            futex.await(TimeUnit.MILLISECONDS.toNanos(millis));
        }
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
    }
}
