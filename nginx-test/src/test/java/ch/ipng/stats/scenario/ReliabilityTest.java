package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.TestEnv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fault suite: reload storms under load, prompt stop, reopen (the
 * stats process's own faults are in StatsProcessTest). Counts are compared
 * with nginx's own access log.
 */
class ReliabilityTest {

    private final List<NginxInstance> started = new ArrayList<>();

    @AfterEach
    void stopAll() {
        started.forEach(NginxInstance::close);
    }

    private NginxInstance nginx(boolean module) {
        NginxInstance n = NginxInstance.create(TestEnv.nginxBin(), 1);
        String ipng = module ? """
                ipng_stats_zone ipng:4m;
                ipng_stats_classpath %s;
                ipng_stats_flush_interval 100ms;
            """.formatted(TestEnv.jar()) : "";
        n.writeConfig("""
            %s
            http {
                %s
                log_format fault '$pid $msec $status';
                access_log logs/access.log fault;
                server {
                    listen 127.0.0.1:%d;
                    location / { return 200 "ok\\n"; }
                    location /missing { return 404; }
                    %s
                }
            }
            """.formatted(NginxConf.head("info", module), ipng, n.port(),
                module ? "location /status { ipng_stats; access_log off; }" : ""));
        started.add(n);
        n.start();
        return n;
    }

    private static long counted(NginxInstance n) throws InterruptedException {
        Thread.sleep(500);
        Scrape s = new Scrape(Traffic.fetch("http://127.0.0.1:" + n.port() + "/status"));
        return (long) s.sum("nginx_ipng_requests_total", java.util.Map.of());
    }

    private static long rssKb(long pid) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    private static long totalWorkerRss(NginxInstance n) throws Exception {
        long sum = 0;
        for (long pid : n.workerPids()) {
            sum += rssKb(pid);
        }
        return sum;
    }

    /** 20 reloads under load with scrapes every 100 ms; returns the load's failures. */
    private static Load storm(NginxInstance n, boolean scrape) throws Exception {
        Load load = new Load(n.port(), 4, Duration.ofSeconds(120), "/", "/", "/missing");
        try {
            Thread scraper = new Thread(() -> {
                while (scrape && !Thread.currentThread().isInterrupted()) {
                    try {
                        Traffic.fetch("http://127.0.0.1:" + n.port() + "/status");
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    } catch (AssertionError e) {
                        // a scrape that races a reload: the next one counts
                    }
                }
            });
            scraper.setDaemon(true);
            scraper.start();
            Thread.sleep(500);
            for (int i = 0; i < 20; i++) {
                n.reload();
                Thread.sleep(150);
            }
            Thread.sleep(500);
            scraper.interrupt();
            scraper.join(5000);
        } finally {
            load.close();
        }
        return load;
    }

    @Test
    void reloadStormUnderLoadLosesAndDoublesNothing() throws Exception {
        NginxInstance stock = nginx(false);
        Load stockLoad = storm(stock, false);
        stock.close();

        NginxInstance n = nginx(true);
        new Load(n.port(), 2, Duration.ofSeconds(3), "/").close(); // warm the JVM
        Thread.sleep(3500);
        long rssBefore = totalWorkerRss(n);
        Load load = storm(n, true);

        assertTrue(load.ok.get() > 1000, "load ran: " + load.ok.get());
        assertEquals(0, load.failed.get(), "failed requests with the module: " + load.errors());
        assertTrue(load.failed.get() <= stockLoad.failed.get(),
                "module " + load.failed.get() + " vs stock " + stockLoad.failed.get());
        assertEquals(n.accessLog().size(), counted(n), () -> "counted total equals nginx's access log; dropped: "
            + new Scrape(Traffic.fetch("http://127.0.0.1:" + n.port() + "/status"))
                .sum("nginx_ipng_dropped_records_total", java.util.Map.of()));
        assertEquals(2, n.workerPids().size(), "no worker left behind");
        Thread.sleep(2000);
        long rssAfter = totalWorkerRss(n);
        assertTrue(rssAfter < rssBefore * 13 / 10 + 8192,
                "worker RSS back near its steady value: " + rssBefore + " kB -> " + rssAfter + " kB");
        assertFalse(n.errorLog().contains("exited on signal"), n.errorLogTail(30));
        assertFalse(n.errorLog().contains("[alert]"), n.errorLogTail(30));
    }

    @Test
    void quitAndStopArePromptAndReopenWorks() throws Exception {
        NginxInstance n = nginx(true);
        Traffic.get(List.of("http://127.0.0.1:" + n.port() + "/"));
        Path log = n.accessLogFile();
        Files.move(log, log.resolveSibling("access.log.1"));
        assertTrue(n.nginx("-s", "reopen").ok());
        Thread.sleep(300);
        Traffic.get(List.of("http://127.0.0.1:" + n.port() + "/"));
        Thread.sleep(300);
        assertEquals(1, Files.readAllLines(log).size(), "reopened access log");
        long quitMs = n.quit();
        assertTrue(quitMs < 5000, "quit took " + quitMs + " ms");

        NginxInstance m = nginx(true);
        new Load(m.port(), 2, Duration.ofSeconds(1), "/").close();
        long stopMs = m.stop();
        assertTrue(stopMs < 5000, "stop took " + stopMs + " ms");
    }
}
