package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.ProcessResult;
import ch.ipng.stats.nginxtest.TestEnv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The module's promise: every request nginx logs is counted exactly once,
 * with the bytes nginx logs, across workers, keep-alive, HTTP/2, internal
 * redirects, proxying and reloads. The reference is nginx's own access log.
 */
class ExactCountingTest {

    private NginxInstance nginx;
    private int port;
    private int h2port;
    private int backend;

    @BeforeEach
    void start() throws Exception {
        nginx = NginxInstance.create(TestEnv.nginxBin(), 3);
        port = nginx.port(0);
        h2port = nginx.port(1);
        backend = nginx.port(2);
        Files.createDirectories(nginx.htmlDir().resolve("static"));
        Files.writeString(nginx.htmlDir().resolve("static/file.txt"), "x".repeat(5000));
        Traffic.exec(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-keyout", nginx.prefix().resolve("conf/key.pem").toString(),
                "-out", nginx.prefix().resolve("conf/cert.pem").toString()));
        nginx.writeConfig(config("1 5 10 25 50 100 250 500 1000 2500 5000 10000"));
        nginx.start();
    }

    @AfterEach
    void stop() {
        nginx.close();
    }

    private String config(String buckets) {
        return """
            %s
            http {
                ipng_stats_zone ipng:4m;
                ipng_stats_classpath %s;
                ipng_stats_flush_interval 100ms;
                ipng_stats_buckets %s;
                %s
                access_log logs/access.log counts;
                upstream backend { server 127.0.0.1:%d; }
                server {
                    listen 127.0.0.1:%d;
                    listen 127.0.0.2:%d;
                    listen [::1]:%d;
                    listen 127.0.0.1:%d ssl http2;
                    ssl_certificate cert.pem;
                    ssl_certificate_key key.pem;
                    root html;
                    location / { return 200 "ok\\n"; }
                    location /notfound { return 404; }
                    location /err { return 500; }
                    location /static/ { }
                    location /redirect { error_page 404 = /fallback; return 404; }
                    location /fallback { return 200 "fallback\\n"; }
                    location /proxy { proxy_pass http://backend/; }
                    location /nocount { ipng_stats off; access_log off; return 204; }
                    location /status { ipng_stats; access_log off; }
                }
                server {
                    listen 127.0.0.1:%d;
                    ipng_stats off;
                    access_log off;
                    location / { return 200 "backend says hello\\n"; }
                }
            }
            """.formatted(NginxConf.head("info"), TestEnv.jar(), buckets, AccessLog.FORMAT, backend,
                port, port, port, h2port, backend);
    }

    private List<String> urls(String host, int p, int n) {
        return Traffic.urls("http", host, p, n, "/", "/", "/", "/notfound", "/err",
                "/static/file.txt", "/static/missing", "/redirect", "/proxy", "/nocount");
    }

    /** Mixed traffic from several clients at once, so both workers count. */
    private void traffic(int perClient) throws Exception {
        List<Runnable> jobs = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            jobs.add(() -> Traffic.get(urls("127.0.0.1", port, perClient)));
            jobs.add(() -> Traffic.get(urls("127.0.0.2", port, perClient)));
            jobs.add(() -> Traffic.get(urls("[::1]", port, perClient)));
            jobs.add(() -> Traffic.getHttp2(urls("127.0.0.1", h2port, perClient)
                    .stream().map(u -> u.replace("http:", "https:")).toList()));
        }
        // request bodies count as bytes in
        jobs.add(() -> Traffic.get(urls("127.0.0.1", port, 20), "-d", "a=" + "b".repeat(300)));
        // one connection per request
        jobs.add(() -> Traffic.get(urls("127.0.0.2", port, 10), "-H", "Connection: close"));
        Traffic.concurrently(jobs);
    }

    private Scrape scrape() throws InterruptedException {
        Thread.sleep(400); // > 2 flush intervals: every worker has flushed
        return new Scrape(Traffic.fetch("http://127.0.0.1:" + port + "/status"));
    }

    private void assertMatchesAccessLog(Scrape s) {
        AccessLog log = new AccessLog(nginx.accessLog());
        assertTrue(log.lines > 100, "traffic was sent");
        long counted = 0;
        for (Map.Entry<AccessLog.Key, AccessLog.Totals> e : log.byKey.entrySet()) {
            Map<String, String> labels = Map.of("source_tag", "direct", "vip", e.getKey().vip(),
                    "code", e.getKey().code());
            String what = " for " + labels;
            assertEquals(e.getValue().requests, (long) s.sum("nginx_ipng_requests_total", labels), "requests" + what);
            assertEquals(e.getValue().bytesIn, (long) s.sum("nginx_ipng_bytes_in_total", labels), "bytes in" + what);
            assertEquals(e.getValue().bytesOut, (long) s.sum("nginx_ipng_bytes_out_total", labels), "bytes out" + what);
            counted += e.getValue().requests;
        }
        assertEquals(log.lines, (long) s.sum("nginx_ipng_requests_total", Map.of()),
                "no request counted that nginx did not log");
        assertEquals(counted, log.lines);
        for (Map.Entry<String, Long> e : log.requestsByVip.entrySet()) {
            Map<String, String> vip = Map.of("vip", e.getKey());
            assertEquals(e.getValue(), (long) s.sum("nginx_ipng_request_duration_seconds_count", vip),
                    "duration histogram count for " + e.getKey());
            assertEquals(e.getValue(), (long) s.sum("nginx_ipng_request_duration_seconds_bucket",
                    Map.of("vip", e.getKey(), "le", "+Inf")), "+Inf bucket for " + e.getKey());
            assertEquals(log.proxiedByVip.getOrDefault(e.getKey(), 0L),
                    (long) s.sum("nginx_ipng_upstream_response_seconds_count", vip),
                    "upstream histogram counts only proxied requests, vip " + e.getKey());
        }
    }

    @Test
    void countsEqualTheAccessLogAcrossWorkersKeepaliveHttp2RedirectsAndProxying() throws Exception {
        traffic(120);
        Scrape s = scrape();
        assertMatchesAccessLog(s);
        // the three VIPs, canonical text, no brackets
        assertTrue(s.sum("nginx_ipng_requests_total", Map.of("vip", "::1")) > 0, s.text);
        assertTrue(s.sum("nginx_ipng_requests_total", Map.of("vip", "127.0.0.2")) > 0);
        // never counted: the scrape location, a location with "ipng_stats off"
        assertEquals(0, s.named("nginx_ipng_requests_total").stream()
                .filter(x -> x.label("code").equals("204")).count());
        // both workers flushed
        assertTrue(s.named("nginx_ipng_flushes_total").size() >= 2, "flushes per worker:\n" + s.text);
    }

    /**
     * Each worker's JVM keeps the list of claimed slots between scrapes and
     * walks the zone again only when the shared USED counters move: keys
     * that the other worker claims after a scrape (new VIPs, new codes) must
     * show in the next scrape of either worker.
     */
    @Test
    void keysClaimedAfterAScrapeShowInTheNextFromEitherWorker() throws Exception {
        Traffic.get(Traffic.urls("http", "127.0.0.1", port, 120, "/", "/notfound"));
        for (int i = 0; i < 6; i++) {         // every worker renders, and keeps its lists
            assertMatchesAccessLog(scrape());
        }
        List<Runnable> jobs = new ArrayList<>();
        jobs.add(() -> Traffic.get(Traffic.urls("http", "127.0.0.2", port, 30, "/", "/err")));
        jobs.add(() -> Traffic.get(Traffic.urls("http", "[::1]", port, 30, "/static/missing", "/proxy")));
        jobs.add(() -> Traffic.get(Traffic.urls("http", "127.0.0.1", port, 30, "/err")));
        Traffic.concurrently(jobs);
        for (int i = 0; i < 6; i++) {
            Scrape s = scrape();
            assertMatchesAccessLog(s);
            assertTrue(s.sum("nginx_ipng_requests_total", Map.of("vip", "::1", "code", "404")) > 0, s.text);
        }
    }

    @Test
    void countersSurviveReloadsWithNothingLostOrCountedTwice() throws Exception {
        traffic(40);
        scrape();
        nginx.reload();
        traffic(40);
        nginx.reload();
        traffic(40);
        assertMatchesAccessLog(scrape());
    }

    @Test
    void reloadThatChangesBucketsIsRefusedAndKeepsTheRunningConfiguration() throws Exception {
        traffic(20);
        nginx.writeConfig(config("10 100 1000"));
        ProcessResult r = nginx.nginx("-s", "reload");
        assertTrue(r.ok(), r.toString());
        Thread.sleep(1000);
        assertTrue(nginx.errorLog().contains("holds histograms with other \"ipng_stats_buckets\""),
                nginx.errorLogTail(20));
        traffic(20);
        Scrape s = scrape();
        assertMatchesAccessLog(s);
        assertTrue(s.text.contains("le=\"0.005\""), "the old buckets stay in force:\n" + s.text);
    }

    @Test
    void concurrentScrapesQueueForTheRenderThreadAndAllAnswer() throws Exception {
        traffic(20);
        Thread.sleep(400);
        List<String> answers = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Runnable> scrapers = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String accept = i % 3 == 0 ? "Accept: application/json" : "Accept: text/plain";
            scrapers.add(() -> answers.add(Traffic.fetch("http://127.0.0.1:" + port + "/status", accept)));
        }
        Traffic.concurrently(scrapers);
        assertEquals(12, answers.size());
        long total = new AccessLog(nginx.accessLog()).lines;
        for (String a : answers) {
            if (a.startsWith("{")) {
                assertTrue(a.endsWith("}"), "a whole JSON document");
            } else {
                assertEquals(total, (long) new Scrape(a).sum("nginx_ipng_requests_total", Map.of()), a);
            }
        }
    }

    @Test
    void outputPassesPromtool() throws Exception {
        traffic(30);
        String text = scrape().text;
        Path file = nginx.prefix().resolve("scrape.txt");
        Files.writeString(file, text);
        String out = Traffic.exec(List.of("sh", "-c", "promtool check metrics < " + file + " 2>&1; echo rc=$?"));
        assertTrue(out.trim().endsWith("rc=0"), out);
    }

    @Test
    void quitFinishesPromptlyWithTheJvmRunning() throws Exception {
        traffic(10);
        long ms = nginx.quit();
        assertTrue(ms < 10_000, "nginx -s quit took " + ms + " ms");
        assertFalse(nginx.errorLog().contains("exited on signal"), nginx.errorLogTail(20));
    }
}
