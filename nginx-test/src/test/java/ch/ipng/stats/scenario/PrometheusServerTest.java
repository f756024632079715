package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.RawHttp;
import ch.ipng.stats.nginxtest.TestEnv;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real Prometheus (Debian's {@code /usr/bin/prometheus}) scrapes the module
 * on loopback, with the example rules of {@code examples/prometheus/rules}
 * loaded; PromQL over its HTTP API must agree with the traffic sent. Every
 * expression of the Grafana dashboard in {@code examples/grafana} is run
 * against the same data. Also: {@code promtool check/test rules} on the
 * examples, and the scrape's caching headers per format.
 *
 * <p>Nothing here depends on timing beyond bounded waits (generous, for a
 * loaded 2-core CI machine): values are polled until they are exact, and
 * rates and quantiles are checked against bounds that hold whatever the
 * scrape timing was.
 */
class PrometheusServerTest {

    private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    private static final Path PROMTOOL = Path.of("/usr/bin/promtool");
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final String JOB = "nginx-ipng";

    /** Per VIP, per phase: path → (count, expected status). */
    private static final Map<String, List<Object[]>> PER_PHASE = Map.of(
        "127.0.0.1", List.of(new Object[] {"/", 60, 200}, new Object[] {"/notfound", 20, 404},
            new Object[] {"/err", 10, 500}, new Object[] {"/proxy", 10, 200}),
        "127.0.0.2", List.of(new Object[] {"/", 40, 200}, new Object[] {"/notfound", 30, 404},
            new Object[] {"/err", 5, 500}, new Object[] {"/proxy", 10, 200}));

    private NginxInstance nginx;
    private int port;
    private int promPort;
    private int backend;
    private Path promDir;
    private Process prometheus;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeEach
    void start() throws Exception {
        assertTrue(Files.isExecutable(PROMETHEUS), PROMETHEUS + " missing: apt-get install prometheus (scripts/install-deps)");
        nginx = NginxInstance.create(TestEnv.nginxBin(), 3);
        port = nginx.port(0);
        promPort = nginx.port(1);
        backend = nginx.port(2);
        nginx.writeConfig("""
            %s
            http {
                ipng_stats_zone ipng:1m;
                ipng_stats_classpath %s;
                ipng_stats_flush_interval 100ms;
                access_log logs/access.log;
                upstream backend { server 127.0.0.1:%d; }
                server {
                    listen 127.0.0.1:%d;
                    listen 127.0.0.2:%d;
                    location / { return 200 "ok\\n"; }
                    location /notfound { return 404; }
                    location /err { return 500; }
                    location /proxy { proxy_pass http://backend/; }
                    location /status { ipng_stats; access_log off; allow 127.0.0.1; deny all; }
                }
                server {
                    listen 127.0.0.1:%d;
                    ipng_stats off;
                    access_log off;
                    location / { return 200 "backend\\n"; }
                }
            }
            """.formatted(NginxConf.head("info"), TestEnv.jar(), backend, port, port, backend));
        nginx.start();
    }

    @AfterEach
    void stop() throws Exception {
        try {
            stopPrometheus();
        } finally {
            try {
                nginx.close();
            } finally {
                deleteTree(promDir);
            }
        }
    }

    // ------------------------------------------------------------------ tests

    @Test
    void promqlOverARealPrometheusAgreesWithTheTrafficSent() throws Exception {
        startPrometheus();
        awaitQuery("up{job=\"" + JOB + "\"} == 1", r -> r.size() == 1, "the target is up");

        // Phase 1 creates the series; Prometheus must see it before phase 2,
        // so that rate() has samples on both sides of phase 2's increase.
        Map<String, Long> expected = new TreeMap<>();
        sendPhase(expected);
        awaitRequestSums(expected);
        sendPhase(expected);
        awaitRequestSums(expected);
        awaitMoreScrapes(2);

        // 1. exact sums
        Map<String, Double> sums = requestSums();
        assertEquals(toDouble(expected), sums, "sum by (source_tag, vip, code)");

        // 2. rate: the window holds phase 1's samples, so its increase is at
        //    least phase 2's requests and at most all of them plus the
        //    extrapolation to the window's end (< half a scrape interval of a
        //    span of several).
        String window = "10m";
        List<Map<String, Object>> rates = query(
            "sum by (source_tag, vip) (rate(nginx_ipng_requests_total[" + window + "]))");
        assertEquals(2, rates.size(), "one rate per VIP: " + rates);
        for (Map<String, Object> r : rates) {
            String vip = label(r, "vip");
            assertEquals("direct", label(r, "source_tag"));
            long phase = phaseTotal(vip);
            double increase = value(r) * 600;
            assertTrue(increase >= phase * 0.999 && increase <= 2 * phase * 1.5,
                "rate for " + vip + " × 600 s = " + increase + ", sent " + phase + " + " + phase);
        }

        // 3. histogram_quantile: finite, and not above the smallest bucket that
        //    holds every observation (what the scrape itself says)
        for (String h : List.of("nginx_ipng_request_duration_seconds", "nginx_ipng_upstream_response_seconds")) {
            Map<String, Double> bound = smallestBucketHoldingAll(h);
            assertEquals(2, bound.size(), h + " buckets per VIP: " + bound);
            for (double q : new double[] {0.5, 0.9, 0.99}) {
                List<Map<String, Object>> res = query("histogram_quantile(" + q + ", sum by (source_tag, vip, le) (rate("
                    + h + "_bucket[" + window + "])))");
                assertEquals(2, res.size(), h + " q" + q + ": " + res);
                for (Map<String, Object> r : res) {
                    double v = value(r);
                    String vip = label(r, "vip");
                    assertTrue(Double.isFinite(v) && v >= 0 && v <= bound.get(vip) && v <= 10.0,
                        h + " q" + q + " for " + vip + " = " + v + ", all observations ≤ " + bound.get(vip));
                }
            }
        }
        // the upstream histogram counted exactly the proxied requests
        for (Map<String, Object> r : query("sum by (vip) (nginx_ipng_upstream_response_seconds_count)")) {
            assertEquals(2 * count(label(r, "vip"), "/proxy"), value(r), 0.0, "upstream count " + r);
        }

        // 4. the scrape is healthy and nothing was dropped (what IpngStatsDroppingRecords watches)
        awaitQuery("up{job=\"" + JOB + "\"}", r -> r.size() == 1 && value(r.get(0)) == 1.0, "up == 1");
        awaitTargetHealthy();
        awaitQuery("nginx_ipng_dropped_records_total == 0", r -> r.size() == 1, "no record dropped");

        // 5. the example rules evaluate on real data, without errors
        awaitQuery("source_tag_vip:nginx_ipng_requests:rate5m", r -> r.size() == 2, "recording rule per VIP");
        for (Map<String, Object> r : awaitQuery("source_tag_vip:nginx_ipng_requests_5xx:ratio_rate5m",
                r -> r.size() == 2, "5xx ratio per VIP")) {
            String vip = label(r, "vip");
            double sent = count(vip, "/err") / (double) phaseTotal(vip);
            // the series of each code start at different scrapes, so rate()
            // extrapolates each differently: plausible, not exact
            assertTrue(value(r) > sent / 3 && value(r) < sent * 2,
                "5xx ratio for " + vip + " = " + value(r) + ", sent " + sent);
        }
        awaitQuery("instance:nginx_ipng_zone_usage:ratio", r -> r.size() == 1 && value(r.get(0)) > 0
            && value(r.get(0)) < 1, "zone usage ratio");
        assertRulesHealthy();
        List<Map<String, Object>> firing = query("ALERTS{alertname=~\"IpngStats.*\", alertstate=\"firing\"}");
        assertTrue(firing.isEmpty(), "no example alert fires on a healthy host: " + firing);

        // 6. every expression and variable of the Grafana dashboard runs
        assertDashboardQueriesRun();
    }

    @Test
    void exampleRulesPassPromtoolChecksAndUnitTests() throws Exception {
        Path rules = examples().resolve("prometheus/rules");
        String check = run(List.of(PROMTOOL.toString(), "check", "rules", "ipng-stats.rules.yml"), rules);
        assertTrue(check.endsWith("rc=0"), check);
        String test = run(List.of(PROMTOOL.toString(), "test", "rules", "ipng-stats.rules.test.yml"), rules);
        assertTrue(test.endsWith("rc=0") && test.contains("SUCCESS"), test);
        String config = run(List.of(PROMTOOL.toString(), "check", "config", "prometheus.yml"),
            examples().resolve("prometheus"));
        assertTrue(config.endsWith("rc=0"), config);

        // every alert and recording rule has a unit test
        String rulesText = Files.readString(rules.resolve("ipng-stats.rules.yml"));
        String testText = Files.readString(rules.resolve("ipng-stats.rules.test.yml"));
        Matcher m = Pattern.compile("(?m)^\\s*- (alert|record): (\\S+)").matcher(rulesText);
        int n = 0;
        while (m.find()) {
            n++;
            String needle = m.group(1).equals("alert") ? "alertname: " + m.group(2) : "expr: " + m.group(2);
            assertTrue(testText.contains(needle), m.group(1) + " " + m.group(2) + " has no unit test");
        }
        assertTrue(n >= 10, "rules found: " + n);
    }

    @Test
    void dashboardIsValidGrafanaJson() throws Exception {
        Map<String, Object> d = asMap(Json.parse(Files.readString(dashboard())));
        assertEquals("ipng-stats", d.get("uid"));
        List<String> vars = asList(asMap(d.get("templating")).get("list")).stream()
            .map(v -> (String) asMap(v).get("name")).toList();
        assertTrue(vars.containsAll(List.of("datasource", "job", "instance", "source_tag", "vip")), "variables " + vars);
        List<Map<String, Object>> panels = asList(d.get("panels")).stream().map(PrometheusServerTest::asMap).toList();
        String titles = String.join("\n", panels.stream().map(p -> (String) p.get("title")).toList());
        for (String needle : List.of("Requests/s per source and VIP", "Status mix", "5xx ratio", "Request duration quantiles",
                "Upstream response time quantiles", "Zone usage", "Zone full events")) {
            assertTrue(titles.contains(needle), "panel '" + needle + "' in\n" + titles);
        }
        List<Integer> ids = panels.stream().map(p -> ((Number) p.get("id")).intValue()).toList();
        assertEquals(ids.size(), ids.stream().distinct().count(), "panel ids unique");
        for (Map<String, Object> p : panels) {
            if (!"row".equals(p.get("type"))) {
                assertFalse(asList(p.get("targets")).isEmpty(), "panel without targets: " + p.get("title"));
            }
        }
    }

    @Test
    void everyFormatForbidsCachingAndNamesItsContentType() throws Exception {
        RawHttp.send(port, RawHttp.Request.get("/"));
        Map<String, String> formats = new LinkedHashMap<>();
        formats.put("", "text/plain; version=0.0.4; charset=utf-8");
        formats.put("application/openmetrics-text; version=1.0.0", "application/openmetrics-text; version=1.0.0; charset=utf-8");
        formats.put("application/json", "application/json");
        for (Map.Entry<String, String> f : formats.entrySet()) {
            RawHttp.Request req = RawHttp.Request.get("/status");
            if (!f.getKey().isEmpty()) {
                req = req.header("Accept", f.getKey());
            }
            RawHttp.Response r = RawHttp.send(port, req);
            assertEquals(200, r.status(), f.getKey());
            assertEquals("no-store", r.header("Cache-Control"), "Cache-Control for Accept: " + f.getKey());
            assertTrue(r.header("Content-Type").startsWith(f.getValue()),
                "Content-Type for Accept: " + f.getKey() + ": " + r.header("Content-Type"));
        }
    }

    // ------------------------------------------------------------- traffic

    private static int count(String vip, String path) {
        return PER_PHASE.get(vip).stream().filter(e -> e[0].equals(path)).mapToInt(e -> (int) e[1]).sum();
    }

    private static long phaseTotal(String vip) {
        return PER_PHASE.get(vip).stream().mapToInt(e -> (int) e[1]).sum();
    }

    /** One phase: each VIP's requests on its own curl (keep-alive), both at once. */
    private void sendPhase(Map<String, Long> expected) throws Exception {
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (Map.Entry<String, List<Object[]>> vip : PER_PHASE.entrySet()) {
            List<String> urls = new ArrayList<>();
            List<Integer> codes = new ArrayList<>();
            for (Object[] e : vip.getValue()) {
                for (int i = 0; i < (int) e[1]; i++) {
                    urls.add("http://" + vip.getKey() + ":" + port + e[0] + "?i=" + i);
                    codes.add((int) e[2]);
                }
                expected.merge("direct|" + vip.getKey() + "|" + e[2], (long) (int) e[1], Long::sum);
            }
            Thread t = new Thread(() -> {
                try {
                    assertEquals(codes, Traffic.get(urls), "statuses for " + vip.getKey());
                } catch (Throwable x) {
                    synchronized (errors) {
                        errors.add(x);
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(120));
            assertFalse(t.isAlive(), "traffic did not finish in 120 s");
        }
        if (!errors.isEmpty()) {
            throw new AssertionError(errors.get(0));
        }
    }

    private static Map<String, Double> toDouble(Map<String, Long> m) {
        Map<String, Double> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, (double) v));
        return out;
    }

    private Map<String, Double> requestSums() throws Exception {
        Map<String, Double> out = new TreeMap<>();
        for (Map<String, Object> r : query("sum by (source_tag, vip, code) (nginx_ipng_requests_total)")) {
            out.put(label(r, "source_tag") + "|" + label(r, "vip") + "|" + label(r, "code"), value(r));
        }
        return out;
    }

    private void awaitRequestSums(Map<String, Long> expected) throws Exception {
        Map<String, Double> want = toDouble(expected);
        long deadline = System.nanoTime() + WAIT.toNanos();
        Map<String, Double> got = Map.of();
        while (System.nanoTime() < deadline) {
            got = requestSums();
            if (got.equals(want)) {
                return;
            }
            Thread.sleep(250);
        }
        fail("Prometheus never saw the traffic sent within " + WAIT + ":\nwant " + want + "\ngot  " + got
            + "\n" + promLogTail());
    }

    /** Waits until Prometheus has stored {@code n} more scrapes of the target. */
    private void awaitMoreScrapes(int n) throws Exception {
        String q = "count_over_time(up{job=\"" + JOB + "\"}[1h])";
        double before = value(query(q).get(0));
        awaitQuery(q, r -> r.size() == 1 && value(r.get(0)) >= before + n, n + " more scrapes after " + before);
    }

    /** Per VIP: the smallest finite {@code le} whose cumulative count is the total (+Inf). */
    private Map<String, Double> smallestBucketHoldingAll(String histogram) throws Exception {
        Map<String, TreeMap<Double, Double>> byVip = new TreeMap<>();
        for (Map<String, Object> r : query("sum by (vip, le) (" + histogram + "_bucket)")) {
            byVip.computeIfAbsent(label(r, "vip"), k -> new TreeMap<>())
                .put(Double.parseDouble(label(r, "le").replace("+Inf", "Infinity")), value(r));
        }
        Map<String, Double> out = new TreeMap<>();
        byVip.forEach((vip, buckets) -> {
            double total = buckets.get(Double.POSITIVE_INFINITY);
            assertTrue(total > 0, histogram + " for " + vip + " is empty: " + buckets);
            double largestFinite = buckets.headMap(Double.POSITIVE_INFINITY).lastKey();
            double le = buckets.entrySet().stream().filter(e -> e.getValue() >= total).map(Map.Entry::getKey)
                .findFirst().orElseThrow();
            // an observation in +Inf only: the quantile is the largest finite bound
            out.put(vip, Double.isInfinite(le) ? largestFinite : le);
        });
        return out;
    }

    // ---------------------------------------------------------- prometheus

    private void startPrometheus() throws Exception {
        promDir = Files.createTempDirectory("ipng-prometheus");
        Path rules = examples().resolve("prometheus/rules/ipng-stats.rules.yml").toAbsolutePath();
        Path config = promDir.resolve("prometheus.yml");
        Files.writeString(config, """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            rule_files:
              - %s
            scrape_configs:
              - job_name: %s
                metrics_path: /status
                static_configs:
                  - targets: ['127.0.0.1:%d']
            """.formatted(rules, JOB, port));
        String check = run(List.of(PROMTOOL.toString(), "check", "config", config.toString()), promDir);
        assertTrue(check.endsWith("rc=0"), check);
        prometheus = new ProcessBuilder(PROMETHEUS.toString(),
                "--config.file=" + config,
                "--storage.tsdb.path=" + promDir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + promPort,
                "--log.level=info")
            .redirectErrorStream(true)
            .redirectOutput(promDir.resolve("prometheus.log").toFile())
            .start();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!prometheus.isAlive()) {
                fail("prometheus exited with " + prometheus.exitValue() + "\n" + promLogTail());
            }
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(promUrl("/-/ready"))).timeout(Duration.ofSeconds(5))
                        .build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        fail("prometheus not ready within " + WAIT + "\n" + promLogTail());
    }

    private void stopPrometheus() throws InterruptedException {
        if (prometheus == null) {
            return;
        }
        prometheus.destroy(); // SIGTERM: Prometheus shuts down cleanly
        if (!prometheus.waitFor(30, TimeUnit.SECONDS)) {
            prometheus.destroyForcibly();
            prometheus.waitFor(10, TimeUnit.SECONDS);
        }
        prometheus = null;
    }

    private String promUrl(String path) {
        return "http://127.0.0.1:" + promPort + path;
    }

    private String promLogTail() {
        try {
            List<String> lines = Files.readAllLines(promDir.resolve("prometheus.log"));
            return "prometheus.log:\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no prometheus.log: " + e + ")";
        }
    }

    private Map<String, Object> api(String pathAndQuery) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(promUrl(pathAndQuery)))
            .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        Map<String, Object> body = asMap(Json.parse(r.body()));
        if (r.statusCode() != 200 || !"success".equals(body.get("status"))) {
            throw new AssertionError("Prometheus " + pathAndQuery + ": HTTP " + r.statusCode() + " " + r.body());
        }
        return body;
    }

    /** An instant query; the result vector (each: {metric: {...}, value: [t, "v"]}). */
    private List<Map<String, Object>> query(String promql) throws Exception {
        Map<String, Object> data = asMap(api("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8))
            .get("data"));
        if (!"vector".equals(data.get("resultType")) && !"scalar".equals(data.get("resultType"))) {
            throw new AssertionError(promql + ": result type " + data.get("resultType"));
        }
        if ("scalar".equals(data.get("resultType"))) {
            return List.of(Map.of("metric", Map.of(), "value", data.get("result")));
        }
        return asList(data.get("result")).stream().map(PrometheusServerTest::asMap).toList();
    }

    private List<Map<String, Object>> awaitQuery(String promql, Predicate<List<Map<String, Object>>> ok, String what)
            throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<Map<String, Object>> last = List.of();
        while (System.nanoTime() < deadline) {
            last = query(promql);
            if (ok.test(last)) {
                return last;
            }
            Thread.sleep(250);
        }
        throw new AssertionError(what + ": " + promql + " still " + last + " after " + WAIT + "\n" + promLogTail());
    }

    private static String label(Map<String, Object> sample, String name) {
        Object v = asMap(sample.get("metric")).get(name);
        return v == null ? "" : (String) v;
    }

    private static double value(Map<String, Object> sample) {
        String v = (String) asList(sample.get("value")).get(1);
        return switch (v) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(v);
        };
    }

    /** The one target is up and its last scrape had no error (polled: one slow scrape may time out). */
    private void awaitTargetHealthy() throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        Object last = null;
        while (System.nanoTime() < deadline) {
            List<Object> active = asList(asMap(api("/api/v1/targets?state=active").get("data")).get("activeTargets"));
            assertEquals(1, active.size(), "active targets " + active);
            Map<String, Object> t = asMap(active.get(0));
            last = t;
            if ("up".equals(t.get("health")) && "".equals(t.get("lastError"))) {
                return;
            }
            Thread.sleep(250);
        }
        fail("target not healthy within " + WAIT + ": " + last);
    }

    private void assertRulesHealthy() throws Exception {
        List<String> bad = new ArrayList<>();
        int n = 0;
        for (Object g : asList(asMap(api("/api/v1/rules").get("data")).get("groups"))) {
            for (Object o : asList(asMap(g).get("rules"))) {
                Map<String, Object> rule = asMap(o);
                n++;
                // "unknown" only before a rule's first evaluation; wait it out below
                if ("err".equals(rule.get("health"))) {
                    bad.add(rule.get("name") + ": " + rule.get("lastError"));
                }
            }
        }
        assertTrue(n >= 10, "rules loaded: " + n);
        assertTrue(bad.isEmpty(), "rules with evaluation errors: " + bad);
    }

    private void assertDashboardQueriesRun() throws Exception {
        Map<String, Object> d = asMap(Json.parse(Files.readString(dashboard())));
        List<String> exprs = new ArrayList<>();
        for (Object p : asList(d.get("panels"))) {
            Object targets = asMap(p).get("targets");
            if (targets != null) {
                for (Object t : asList(targets)) {
                    exprs.add((String) asMap(t).get("expr"));
                }
            }
        }
        assertTrue(exprs.size() >= 15, "dashboard expressions: " + exprs.size());
        List<String> empty = new ArrayList<>();
        for (String e : exprs) {
            String q = grafana(e);
            List<Map<String, Object>> r = query(q); // throws on a parse or evaluation error
            if (r.isEmpty()) {
                empty.add(q);
            }
        }
        // Only series that no traffic here produces may be empty: zone full
        // events and pktinfo misses are 0 (increase 0 is not empty), so
        // nothing should be.
        assertTrue(empty.isEmpty(), "dashboard queries without data:\n" + String.join("\n", empty));

        // the variables: label_values(selector, label) → count by (label) (selector)
        Pattern lv = Pattern.compile("label_values\\((.*), (\\w+)\\)");
        for (Object v : asList(asMap(d.get("templating")).get("list"))) {
            Object def = asMap(v).get("definition");
            if (def == null) {
                continue;
            }
            Matcher m = lv.matcher((String) def);
            assertTrue(m.matches(), "variable query " + def);
            List<Map<String, Object>> r = query("count by (" + m.group(2) + ") (" + grafana(m.group(1)) + ")");
            assertFalse(r.isEmpty(), "variable " + asMap(v).get("name") + " has no values: " + def);
        }
    }

    /** A Grafana expression with its variables set to "everything" over the test's data. */
    private static String grafana(String expr) {
        return expr.replace("$__rate_interval", "1m").replace("$job", JOB)
            .replace("$instance", ".*").replace("$source_tag", ".*").replace("$vip", ".*");
    }

    // -------------------------------------------------------------- helpers

    private static Path examples() {
        return TestEnv.tDir().getParent().resolve("examples");
    }

    private static Path dashboard() {
        return examples().resolve("grafana/ipng-stats-dashboard.json");
    }

    /** Runs a command in {@code dir}; its output followed by "rc=N". */
    private static String run(List<String> cmd, Path dir) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish in 120 s: " + out);
        }
        return (out + "rc=" + p.exitValue()).trim();
    }

    private static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> asList(Object o) {
        return (List<Object>) o;
    }

    /** JSON to Map / List / String / Double / Boolean / null, with jackson-core's strict parser. */
    static final class Json {
        private static final JsonFactory FACTORY = new JsonFactory();

        static Object parse(String text) throws IOException {
            try (JsonParser p = FACTORY.createParser(text)) {
                p.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
                p.nextToken();
                Object v = read(p);
                if (p.nextToken() != null) {
                    throw new IOException("trailing content after JSON value");
                }
                return v;
            }
        }

        private static Object read(JsonParser p) throws IOException {
            JsonToken t = p.currentToken();
            switch (t) {
                case START_OBJECT -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    while (p.nextToken() != JsonToken.END_OBJECT) {
                        String k = p.currentName();
                        p.nextToken();
                        m.put(k, read(p));
                    }
                    return m;
                }
                case START_ARRAY -> {
                    List<Object> l = new ArrayList<>();
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        l.add(read(p));
                    }
                    return l;
                }
                case VALUE_STRING -> {
                    return p.getText();
                }
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                    return p.getDoubleValue();
                }
                case VALUE_TRUE -> {
                    return Boolean.TRUE;
                }
                case VALUE_FALSE -> {
                    return Boolean.FALSE;
                }
                case VALUE_NULL -> {
                    return null;
                }
                default -> throw new IOException("unexpected " + t);
            }
        }
    }
}
