package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.TestEnv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Mixed load, scrapes and reloads for {@code -Dipng.soak.seconds} (20 s by
 * default, what CI runs; scripts/soak runs it longer). At the end: the
 * counted total equals the access log, worker RSS is flat, and the error
 * log has nothing above notice.
 */
class SoakTest {

    private static final Pattern ABOVE_NOTICE = Pattern.compile("\\[(warn|error|crit|alert|emerg)\\]");

    /*
     * Expected: the backend here is this same nginx, so a reload may close
     * an upstream connection under a proxied request (nginx's own reload
     * behaviour, with or without this module).
     */
    private static final Pattern EXPECTED = Pattern.compile(
        "\\[error\\].*(upstream prematurely closed|recv\\(\\) failed|connect\\(\\) failed).*"
            + "upstream: \"http://127\\.0\\.0\\.1:");

    private NginxInstance n;

    @AfterEach
    void stop() {
        if (n != null) {
            n.close();
        }
    }

    private static long rssKb(long pid) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    private long maxWorkerRss() throws Exception {
        long max = 0;
        for (long pid : n.workerPids()) {
            max = Math.max(max, rssKb(pid));
        }
        return max;
    }

    @Test
    void mixedLoadScrapesAndReloadsKeepTotalsExactAndMemoryFlat() throws Exception {
        long seconds = Long.getLong("ipng.soak.seconds", 20);
        n = NginxInstance.create(TestEnv.nginxBin(), 2);
        n.writeConfig("""
            %s
            http {
                ipng_stats_zone ipng:4m;
                ipng_stats_classpath %s;
                ipng_stats_flush_interval 200ms;
                access_log logs/access.log;
                upstream backend { server 127.0.0.1:%d; }
                server {
                    listen 127.0.0.1:%d;
                    location / { return 200 "ok\\n"; }
                    location /missing { return 404; }
                    location /redirect { error_page 404 = /; return 404; }
                    location /proxy { proxy_pass http://backend/; }
                    location /status { ipng_stats; access_log off; }
                }
                server {
                    listen 127.0.0.1:%d;
                    access_log off;
                    ipng_stats off;
                    location / { return 200 "backend\\n"; }
                }
            }
            """.formatted(NginxConf.head("notice"), TestEnv.jar(), n.port(1), n.port(0), n.port(1)));
        n.start();
        String status = "http://127.0.0.1:" + n.port() + "/status";

        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        long warm = System.nanoTime() + Duration.ofSeconds(Math.min(8, seconds / 3)).toNanos();
        long rssWarm = 0;
        int reloads = 0;
        try (Load load = new Load(n.port(), 3, Duration.ofSeconds(seconds + 30),
                "/", "/", "/missing", "/redirect", "/proxy")) {
            long nextReload = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            while (System.nanoTime() < deadline) {
                Traffic.fetch(status);
                Traffic.fetch(status, "Accept: application/json");
                if (rssWarm == 0 && System.nanoTime() > warm) {
                    rssWarm = maxWorkerRss();
                }
                if (System.nanoTime() > nextReload) {
                    n.reload();
                    reloads++;
                    nextReload = System.nanoTime() + Duration.ofSeconds(3).toNanos();
                }
                Thread.sleep(200);
            }
            load.close();
            assertEquals(0, load.failed.get(), load.errors().toString());
            assertTrue(load.ok.get() > 100, "load ran: " + load.ok.get());
        }
        Thread.sleep(1000);
        Scrape s = new Scrape(Traffic.fetch(status));
        assertEquals(n.accessLog().size(), (long) s.sum("nginx_ipng_requests_total", Map.of()),
                "counted total after " + reloads + " reloads");
        // after a reload the new workers' JVMs are young: compare steady workers
        n.reload();
        new Load(n.port(), 2, Duration.ofSeconds(Math.min(8, seconds / 3)), "/", "/missing").close();
        long rssEnd = maxWorkerRss();
        assertTrue(rssEnd < rssWarm * 13 / 10 + 8192,
                "worker RSS flat: " + rssWarm + " kB after warm-up, " + rssEnd + " kB at the end");
        List<String> loud = n.errorLog().lines()
                .filter(l -> ABOVE_NOTICE.matcher(l).find() && !EXPECTED.matcher(l).find()).toList();
        assertEquals(List.of(), loud, "error log lines above notice");
    }
}
