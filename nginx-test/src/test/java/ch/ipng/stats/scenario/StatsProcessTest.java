package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.TestEnv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One JVM per nginx instance, in the stats process; workers are C with one
 * thread. Whatever process dies, every request nginx logged is counted
 * exactly once: records wait in the workers' rings in shared memory until
 * a stats process moves them, and a move that a kill interrupted is rolled
 * back and done again.
 */
class StatsProcessTest {

    static final String STATS = "ipng stats process";
    /* NGX_HTTP_IPNG_STATS_RING_CAPACITY: records a worker's ring holds */
    static final int RING = 16384;

    private NginxInstance nginx;
    private String accessLogOptions = "";
    private String http = "";

    @AfterEach
    void stop() {
        if (nginx != null) {
            nginx.close();
        }
    }

    private NginxInstance start(int workers) throws InterruptedException {
        return start(workers, "");
    }

    private NginxInstance start(int workers, String main) throws InterruptedException {
        nginx = NginxInstance.create(TestEnv.nginxBin(), 1);
        nginx.writeConfig("""
            load_module %s;
            %s
            worker_processes %d;
            error_log logs/error.log info;
            pid logs/nginx.pid;
            events { worker_connections 1024; }
            http {
                ipng_stats_zone ipng:4m;
                ipng_stats_classpath %s;
                %s
                access_log logs/access.log counts%s;
                %s
                server {
                    listen %d;
                    location / { return 200 "ok\\n"; }
                    location /missing { return 404; }
                    location /status { ipng_stats; access_log off; }
                }
            }
            """.formatted(TestEnv.module(), main, workers, TestEnv.jar(), AccessLog.FORMAT, accessLogOptions,
                http, nginx.port()));
        nginx.start();
        statsProcess();
        return nginx;
    }

    /** The stats process's pid, once its JVM runs. */
    private long statsProcess() throws InterruptedException {
        for (int i = 0; i < 300; i++) {
            List<Long> pids = nginx.childPids(STATS);
            if (pids.size() == 1 && jvmStarts() > 0 && mapsLibjvm(pids.get(0))) {
                return pids.get(0);
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no stats process with a JVM: " + nginx.childPids(STATS) + nginx.errorLogTail(20));
    }

    private long jvmStarts() {
        return nginx.errorLog().lines().filter(l -> l.contains("ipng_stats: JVM started in")).count();
    }

    private static boolean mapsLibjvm(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/maps")).contains("libjvm.so");
        } catch (IOException e) {
            return false;
        }
    }

    private static int threads(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("Threads:")) {
                return Integer.parseInt(line.substring("Threads:".length()).trim());
            }
        }
        throw new AssertionError("no Threads: line for " + pid);
    }

    private Scrape scrape() {
        return new Scrape(Traffic.fetch("http://127.0.0.1:" + nginx.port() + "/status"));
    }

    /** Requests per code as counted equal the access log's, and nothing was dropped. */
    private void assertCountsEqualTheAccessLog() {
        Scrape s = scrape();
        Map<String, Long> counted = new TreeMap<>();
        for (Scrape.Sample x : s.named("nginx_ipng_requests_total")) {
            counted.merge(x.label("code"), (long) x.value(), Long::sum);
        }
        Map<String, Long> logged = new TreeMap<>();
        for (String line : nginx.accessLog()) {
            logged.merge(line.split(" ")[1], 1L, Long::sum);
        }
        assertEquals(0.0, s.sum("nginx_ipng_dropped_records_total", Map.of()), s.text);
        assertEquals(logged, counted, "scrape:\n" + s.text);
    }

    @Test
    void oneProcessOfTheInstanceHostsTheJvmAndWorkersHaveOneThread() throws Exception {
        start(4);
        Traffic.get(Traffic.urls("http", "127.0.0.1", nginx.port(), 20, "/", "/missing"));
        List<Long> all = new ArrayList<>(nginx.childPids(""));
        all.add(nginx.masterPid());
        List<Long> withJvm = all.stream().filter(StatsProcessTest::mapsLibjvm).toList();
        assertEquals(nginx.childPids(STATS), withJvm, "processes mapping libjvm.so");
        assertEquals(4, nginx.workerPids().size());
        for (long w : nginx.workerPids()) {
            assertEquals(1, threads(w), "threads of worker " + w);
        }
        assertEquals(1, jvmStarts());
        assertCountsEqualTheAccessLog();
    }

    @Test
    void aReloadStartsExactlyOneJvmWhateverTheWorkerCount() throws Exception {
        start(4);
        for (int i = 1; i <= 3; i++) {
            nginx.reload();
            long pid = statsProcess();
            for (int k = 0; k < 100 && jvmStarts() < i + 1; k++) {
                Thread.sleep(20);
            }
            assertEquals(i + 1, jvmStarts(), nginx.errorLogTail(20));
            assertEquals(List.of(pid), nginx.childPids(STATS));
        }
    }

    @Test
    void aWorkerKilledUnderLoadLosesNothing() throws Exception {
        start(2);
        long killed;
        try (Load load = new Load(nginx.port(), 4, Duration.ofSeconds(60), "/", "/missing")) {
            Thread.sleep(1500);
            killed = nginx.workerPids().get(0);
            new ProcessBuilder("kill", "-9", Long.toString(killed)).start().waitFor();
            Thread.sleep(1500);
            assertTrue(load.ok.get() > 1000, "load ran: " + load.ok.get());
        }
        assertFalse(nginx.workerPids().contains(killed));
        assertEquals(2, nginx.workerPids().size(), "the master respawned the worker");
        assertCountsEqualTheAccessLog();
    }

    @Test
    void theStatsProcessKilledUnderLoadLosesNothing() throws Exception {
        start(2);
        try (Load load = new Load(nginx.port(), 4, Duration.ofSeconds(60), "/", "/missing")) {
            for (int i = 0; i < 3; i++) {
                Thread.sleep(700);
                long killed = statsProcess();
                new ProcessBuilder("kill", "-9", Long.toString(killed)).start().waitFor();
                for (int k = 0; k < 300 && jvmStarts() < i + 2; k++) {
                    Thread.sleep(20);
                }
                assertNotEquals(killed, statsProcess());
            }
            Thread.sleep(700);
            assertTrue(load.ok.get() > 1000, "load ran: " + load.ok.get());
            assertEquals(0, load.failed.get(), load.errors().toString());
        }
        assertCountsEqualTheAccessLog();
    }

    /** A ring fills while nothing drains it: the worker counts the rest as dropped and serves on. */
    @Test
    void aFullRingCountsItsDropsAndNginxServesOn() throws Exception {
        start(1);
        long stats = statsProcess();
        double before = scrape().sum("nginx_ipng_requests_total", Map.of("code", "200"));
        new ProcessBuilder("kill", "-STOP", Long.toString(stats)).start().waitFor();
        List<Integer> codes;
        try {
            codes = Traffic.get(Traffic.urls("http", "127.0.0.1", nginx.port(), 17000, "/"));
        } finally {
            new ProcessBuilder("kill", "-CONT", Long.toString(stats)).start().waitFor();
        }
        assertEquals(17000, codes.stream().filter(c -> c == 200).count());
        Scrape s = scrape();
        assertEquals(before + RING, s.sum("nginx_ipng_requests_total", Map.of("code", "200")), s.text);
        assertEquals(17000.0 - RING, s.sum("nginx_ipng_dropped_records_total", Map.of()), s.text);
        assertEquals((double) nginx.accessLog().size(), s.sum("nginx_ipng_requests_total", Map.of())
            + s.sum("nginx_ipng_dropped_records_total", Map.of()), "counted + dropped = logged");
    }

    /**
     * The drain thread sleeps up to ipng_stats_flush_interval (1 s) between
     * passes when no worker wakes it: wrk from one connection-heavy thread
     * against one worker, with no scrape in between, publishes more than a
     * ring holds in that second, so only the worker's wake at a quarter-full
     * ring keeps it from dropping.
     */
    @Test
    void aBurstFasterThanARingPerSecondIsWokenForAndDropsNothing() throws Exception {
        accessLogOptions = " buffer=64k flush=100ms";   // a write per request would slow nginx below a ring a second
        start(1);
        String out = Traffic.exec(List.of("wrk", "-t1", "-c16", "-d4s",
            "http://127.0.0.1:" + nginx.port() + "/"));
        Matcher m = Pattern.compile("Requests/sec:\\s+([0-9.]+)").matcher(out);
        assertTrue(m.find(), out);
        double perSecond = Double.parseDouble(m.group(1));
        assertTrue(perSecond > 1.25 * RING, "the burst must outrun one ring a second for this test to mean "
            + "anything; wrk made " + perSecond + " requests/s:\n" + out);
        Thread.sleep(500);      // the access log's buffer, flush=100ms
        assertCountsEqualTheAccessLog();
    }

    /**
     * The stats process's directory as long as nginx -t accepts it (its
     * scrape socket's path fills sun_path's 108 bytes): the socket is bound
     * under a temporary name no longer than its own, so scrapes work.
     * nginx's own test suite has such paths under its temporary prefixes.
     */
    @Test
    void theLongestStatsPathTheConfigurationAcceptsServesScrapes() throws Exception {
        Path parent = Files.createTempDirectory(Path.of(System.getProperty("ipng.tmp.dir",
            System.getProperty("java.io.tmpdir"))), "ipng-long-");
        try {
            Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwxr-xr-x"));
            String base = parent.toAbsolutePath() + "/";
            int longest = 108 - "/scrape.sock".length() - 1;
            assertTrue(base.length() < longest - 1, base);
            String dir = base + "d".repeat(longest - base.length());
            http = "ipng_stats_path " + dir + ";";
            start(1);
            Traffic.get(Traffic.urls("http", "127.0.0.1", nginx.port(), 5, "/"));
            assertCountsEqualTheAccessLog();
            assertFalse(nginx.errorLog().contains("[alert]"), nginx.errorLogTail(20));
            assertTrue(Files.exists(Path.of(dir, "scrape.sock")), dir);
        } finally {
            stop();
            nginx = null;
            Traffic.exec(List.of("rm", "-rf", parent.toString()));
        }
    }

    /** An idle stats process's drain thread wakes about once a second (the interval), not every few ms. */
    @Test
    void anIdleDrainThreadSleepsTheFlushInterval() throws Exception {
        start(2);
        Traffic.get(Traffic.urls("http", "127.0.0.1", nginx.port(), 10, "/"));
        Path drain = drainThread(statsProcess());
        Thread.sleep(1500);
        long before = voluntarySwitches(drain);
        Thread.sleep(5000);
        long woke = voluntarySwitches(drain) - before;
        assertTrue(woke >= 3 && woke <= 12, "the drain thread slept " + woke + " times in 5 s, not about 5");
        assertCountsEqualTheAccessLog();
    }

    private static Path drainThread(long pid) throws IOException {
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                if (Files.readString(t.resolve("comm")).trim().equals("ipng-drain")) {
                    return t;
                }
            }
        }
        throw new AssertionError("no ipng-drain thread in " + pid);
    }

    private static long voluntarySwitches(Path task) throws IOException {
        for (String line : Files.readAllLines(task.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
                return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        throw new AssertionError("no voluntary_ctxt_switches in " + task);
    }

    /** Twenty reloads under load with scrapes every 100 ms: nothing lost, nothing doubled. */
    @Test
    void reloadsUnderLoadWithScrapesLoseNothing() throws Exception {
        start(2);
        Thread scraper = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Traffic.fetch("http://127.0.0.1:" + nginx.port() + "/status");
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                } catch (AssertionError e) {
                    // a scrape refused while the stats process is replaced
                }
            }
        });
        try (Load load = new Load(nginx.port(), 4, Duration.ofSeconds(120), "/", "/missing")) {
            scraper.start();
            for (int i = 0; i < 20; i++) {
                nginx.reload();
                Thread.sleep(100);
            }
            assertEquals(0, load.failed.get(), load.errors().toString());
        } finally {
            scraper.interrupt();
            scraper.join(5000);
        }
        assertCountsEqualTheAccessLog();
        assertFalse(nginx.errorLog().contains("exited on signal"), nginx.errorLogTail(30));
    }

    /**
     * Scrapes that read their (1 MB) answers slowly hold upstream connections
     * to the stats process when a reload's worker_shutdown_timeout closes
     * them: nothing crashes or leaks (scripts/sanitize runs this under
     * AddressSanitizer), and counting goes on exactly.
     */
    @Test
    void slowScrapesCutByWorkerShutdownTimeoutAtAReloadLeaveNothingBehind() throws Exception {
        start(2, "worker_shutdown_timeout 1s;");
        List<String> urls = new ArrayList<>();
        for (int i = 1; i <= 250; i++) {
            urls.add("http://127.0.0." + i + ":" + nginx.port() + "/");
            urls.add("http://127.0.0." + i + ":" + nginx.port() + "/missing");
        }
        Traffic.get(urls);
        List<java.net.Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                java.net.Socket c = new java.net.Socket("127.0.0.1", nginx.port());
                c.setReceiveBufferSize(4096);
                c.getOutputStream().write("GET /status HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
                slow.add(c);
            }
            byte[] buf = new byte[1024];
            for (int k = 0; k < 5; k++) {
                for (java.net.Socket c : slow) {
                    assertTrue(c.getInputStream().read(buf) > 0, "the answer streams");
                }
                Thread.sleep(100);
            }
            nginx.reload();                 // old workers cut the slow scrapes after 1 s
            Thread.sleep(1500);
        } finally {
            for (java.net.Socket c : slow) {
                c.close();
            }
        }
        Traffic.get(urls.subList(0, 20));
        assertCountsEqualTheAccessLog();
        assertFalse(nginx.errorLog().contains("exited on signal"), nginx.errorLogTail(30));
        assertFalse(nginx.errorLog().contains("[alert]"), nginx.errorLogTail(30));
    }
}
