package ch.ipng.stats.scenario;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Real HTTP traffic through curl: many URLs per call share one keep-alive connection. */
final class Traffic {

    private Traffic() {
    }

    /** {@code n} URLs on host:port cycling through {@code paths}, each with a distinct query. */
    static List<String> urls(String scheme, String host, int port, int n, String... paths) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(scheme + "://" + host + ":" + port + paths[i % paths.length] + "?i=" + i);
        }
        return out;
    }

    /** Runs the jobs at once (several clients, so every worker gets some) and waits for all. */
    static void concurrently(List<Runnable> jobs) throws Exception {
        concurrently(jobs, jobs.size());
    }

    /** Runs the jobs, {@code clients} at a time, and waits for all. */
    static void concurrently(List<Runnable> jobs, int clients) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> running = new ArrayList<>();
            for (Runnable j : jobs) {
                running.add(pool.submit(j));
            }
            for (Future<?> f : running) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    /** GETs every URL, in order, on one connection per host; returns the status codes. */
    static List<Integer> get(List<String> urls, String... extra) {
        return run(urls, false, extra);
    }

    /** Like {@link #get} over HTTP/2 (TLS, ALPN h2): one connection, one stream per URL. */
    static List<Integer> getHttp2(List<String> urls) {
        return run(urls, true);
    }

    static String fetch(String url, String... headers) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-g", "--max-time", "20"));
        for (String h : headers) {
            cmd.add("-H");
            cmd.add(h);
        }
        cmd.add(url);
        return exec(cmd);
    }

    private static List<Integer> run(List<String> urls, boolean http2, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-g", "--no-progress-meter",
                "--max-time", "60"));
        if (http2) {
            // over TLS: curl 7.88 fails to reuse an h2c (prior knowledge) connection
            cmd.addAll(List.of("--http2", "-k"));
        } else {
            cmd.add("--http1.1");
        }
        cmd.addAll(List.of(extra));
        for (String u : urls) {
            cmd.add("-o");
            cmd.add("/dev/null");
            cmd.add("-w");
            cmd.add("%{http_code}\\n");
            cmd.add(u);
        }
        List<Integer> codes = new ArrayList<>();
        for (String line : exec(cmd).split("\n")) {
            if (!line.isBlank()) {
                codes.add(Integer.parseInt(line.trim()));
            }
        }
        if (codes.size() != urls.size()) {
            throw new AssertionError("curl answered " + codes.size() + " of " + urls.size());
        }
        return codes;
    }

    static String exec(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("failed: " + String.join(" ", cmd.subList(0, 5)) + " ...: "
                        + new String(out, StandardCharsets.UTF_8));
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
