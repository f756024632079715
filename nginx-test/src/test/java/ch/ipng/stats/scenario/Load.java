package ch.ipng.stats.scenario;

import ch.ipng.stats.nginxtest.RawHttp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keep-alive HTTP/1.1 load from a few threads until stopped (bounded by a
 * deadline). A request on a connection the server closed before answering
 * (a reload's old worker leaving) is retried on a new connection, as
 * clients do with idempotent requests; only a wrong status, a timeout or a
 * refused connection counts as failed.
 */
final class Load implements AutoCloseable {

    final AtomicLong ok = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong retried = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> threads = new ArrayList<>();
    private final List<String> errors = new ArrayList<>();

    Load(int port, int threadCount, Duration maxRun, String... paths) {
        long deadline = System.nanoTime() + maxRun.toNanos();
        for (int t = 0; t < threadCount; t++) {
            int id = t;
            Thread th = new Thread(() -> run(port, id, deadline, paths), "load-" + t);
            th.setDaemon(true);
            threads.add(th);
            th.start();
        }
    }

    private void run(int port, int id, long deadline, String[] paths) {
        RawHttp.Connection c = null;
        int n = 0;
        while (running.get() && System.nanoTime() < deadline) {
            String path = paths[(n++ + id) % paths.length];
            try {
                if (c == null) {
                    c = RawHttp.open(port, Duration.ofSeconds(5));
                }
                RawHttp.Response r = c.exchange(RawHttp.Request.get(path).header("Connection", "keep-alive"));
                if (r.status() >= 500) {
                    failed.incrementAndGet();
                    note("status " + r.status() + " for " + path);
                } else {
                    ok.incrementAndGet();
                }
                if ("close".equalsIgnoreCase(r.header("Connection"))) {
                    c.close();
                    c = null;
                }
            } catch (RuntimeException e) {
                boolean neverAnswered = c != null && isClosedBeforeAnswer(e);
                if (c != null) {
                    c.close();
                    c = null;
                }
                if (neverAnswered) {
                    retried.incrementAndGet();
                    n--;
                } else {
                    failed.incrementAndGet();
                    note(e.toString());
                }
            }
        }
        if (c != null) {
            c.close();
        }
    }

    private static boolean isClosedBeforeAnswer(RuntimeException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (m.contains("EOF") || m.contains("reset") || m.contains("Broken pipe")
                    || m.contains("closed") || m.contains("end of stream")) {
                return true;
            }
        }
        return false;
    }

    private synchronized void note(String s) {
        if (errors.size() < 20) {
            errors.add(s);
        }
    }

    synchronized List<String> errors() {
        return List.copyOf(errors);
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        for (Thread t : threads) {
            t.join(15_000);
        }
    }
}
