package ch.ipng.stats.drain;

import java.util.function.LongPredicate;

/**
 * The rings zone's LOCK word: which stats process may write the zones. At a
 * reload the old stats process runs on beside the new one until nginx ends
 * it with exit(), so there may be two; LOCK lets one at a time in, and lets
 * a process in after a holder that died.
 *
 * <p>Acquire: CAS 0 -&gt; own pid. Held by the own pid: taken (a holder in
 * this process that failed, or a dead process whose pid this one reuses;
 * the caller holds the in-process lock, so no thread here is inside).
 * Held by a dead process ({@link Liveness}): CAS its pid -&gt; own pid.
 * Held by a live one: sleep 1 ms and try again. The caller then recovers
 * the journal. Release: store-release 0. Not thread-safe: the caller holds
 * the in-process lock.
 */
final class ProcessLock {

    private final Rings rings;
    private final long pid;
    private final LongPredicate alive;

    ProcessLock(Rings rings, long pid, LongPredicate alive) {
        this.rings = rings;
        this.pid = pid;
        this.alive = alive;
    }

    /** Takes LOCK, waiting until {@code deadline} (System.nanoTime()) at most; returns whether it did. */
    boolean acquire(long deadline) throws InterruptedException {
        while (true) {
            long holder = rings.lockHolder();
            if (holder == pid) {
                return true;
            }
            if ((holder == 0 || !alive.test(holder)) && rings.compareAndSetLock(holder, pid)) {
                return true;
            }
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            Thread.sleep(1);
        }
    }

    void release() {
        if (rings.lockHolder() == pid) {
            rings.releaseLock();
        }
    }

    /** The pid holding LOCK now, 0 if none. */
    long holder() {
        return rings.lockHolder();
    }
}
