package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.RawHttp;
import ch.ipng.stats.nginxtest.TestEnv;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scrape surface against the real nginx (2 workers, VIPs 127.0.0.1,
 * 127.0.0.2 and ::1, flush interval 100ms): JSON, Prometheus 0.0.4 and
 * OpenMetrics of the same moment agree number for number and equal the access
 * log; filters; hostile query strings and Accept headers; content types;
 * status classes; a zone filled past capacity; EWMA rates under a paced load.
 */
class ScrapeSurfaceTest {

    static final String TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    static final String OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    static final String JSON_TYPE = "application/json";
    static final String OPENMETRICS_ACCEPT = "application/openmetrics-text; version=1.0.0";

    private NginxInstance nginx;
    private int port;

    @AfterEach
    void stop() {
        if (nginx != null) {
            nginx.close();
        }
    }

    /** Starts nginx with the scrape server on {@code listens} (addresses, the port is added, then any parameters). */
    private void start(String zone, String httpExtra, String serverExtra, List<String> listens) throws Exception {
        start(zone, httpExtra, serverExtra, listens, 2);
    }

    private void start(String zone, String httpExtra, String serverExtra, List<String> listens, int workers)
            throws Exception {
        nginx = NginxInstance.create(TestEnv.nginxBin(), 1);
        port = nginx.port();
        StringBuilder l = new StringBuilder();
        for (String a : listens) {
            // "address" or "address parameters..."
            String[] ap = a.split(" ", 2);
            l.append("        listen ").append(ap[0]).append(':').append(port)
                .append(ap.length > 1 ? " " + ap[1] : "").append(";\n");
        }
        nginx.writeConfig("""
            %s
            http {
                ipng_stats_zone %s;
                ipng_stats_classpath %s;
                ipng_stats_flush_interval 100ms;
                %s
                %s
                access_log logs/access.log counts;
                server {
            %s
                    location / { return 200 "ok\\n"; }
                    location /notfound { return 404; }
                    location /err { return 500; }
                    location /empty { return 204; }
                    location /status { ipng_stats; access_log off; }
                    %s
                }
            }
            """.formatted(NginxConf.head("info").replace("worker_processes 2;", "worker_processes " + workers + ";"),
                zone, TestEnv.jar(), httpExtra, AccessLog.FORMAT, l, serverExtra));
        nginx.start();
    }

    private void startDefault() throws Exception {
        start("ipng:4m", "", "", List.of("127.0.0.1", "127.0.0.2", "[::1]"));
    }

    // ------------------------------------------------------------ helpers

    private List<String> urls(String host, int n) {
        return Traffic.urls("http", host, port, n, "/", "/", "/notfound", "/err", "/empty", "/x");
    }

    /** Traffic on the three VIPs from several clients at once, so both workers count. */
    private void traffic(int perClient) throws Exception {
        List<Runnable> jobs = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            jobs.add(() -> Traffic.get(urls("127.0.0.1", perClient)));
            jobs.add(() -> Traffic.get(urls("127.0.0.2", perClient)));
            jobs.add(() -> Traffic.get(urls("[::1]", perClient)));
        }
        jobs.add(() -> Traffic.get(urls("127.0.0.1", 20), "-d", "a=" + "b".repeat(300)));
        Traffic.concurrently(jobs);
    }

    private RawHttp.Response get(String query, String accept) {
        RawHttp.Request r = RawHttp.Request.get("/status" + (query == null ? "" : "?" + query));
        if (accept != null) {
            r = r.header("Accept", accept);
        }
        RawHttp.Response resp = RawHttp.send(port, r);
        assertEquals(200, resp.status(), () -> "scrape ?" + query + " Accept " + accept + ": " + resp);
        return resp;
    }

    private Scrape text(String query) {
        RawHttp.Response r = get(query, null);
        assertEquals(TEXT_TYPE, r.header("Content-Type"));
        return new Scrape(r.bodyText());
    }

    private Scrape openMetrics(String query) {
        RawHttp.Response r = get(query, OPENMETRICS_ACCEPT);
        assertEquals(OPENMETRICS_TYPE, r.header("Content-Type"));
        return new Scrape(r.bodyText());
    }

    private JsonScrape json(String query) {
        RawHttp.Response r = get(query, "application/json");
        assertEquals(JSON_TYPE, r.header("Content-Type"));
        JsonScrape j = new JsonScrape(r.body());
        assertEquals(1, j.schema());
        return j;
    }

    /**
     * Text, JSON, OpenMetrics and text again of one moment: retried until the
     * two texts are equal (no EWMA tick and no flush in between), so the JSON
     * and OpenMetrics taken between them are of that same moment.
     */
    private record Moment(Scrape text, JsonScrape json, Scrape openMetrics) {
    }

    private Moment moment(String query) throws InterruptedException {
        Thread.sleep(400); // > 2 flush intervals: every worker has flushed
        List<String> last = null;
        for (int attempt = 0; attempt < 10; attempt++) {
            Scrape a = text(query);
            JsonScrape j = json(query);
            Scrape om = openMetrics(query);
            Scrape b = text(query);
            last = JsonScrape.differences(JsonScrape.flatten(a), JsonScrape.flatten(b));
            if (last.isEmpty()) {
                return new Moment(a, j, om);
            }
        }
        throw new AssertionError("two text scrapes in a row never agreed: " + last);
    }

    private static void assertAgree(Moment m) {
        Map<String, Double> text = JsonScrape.flatten(m.text);
        List<String> d = JsonScrape.differences(text, m.json.flatten());
        assertTrue(d.isEmpty(), "text vs JSON:\n" + String.join("\n", d));
        d = JsonScrape.differences(text, JsonScrape.flatten(m.openMetrics));
        assertTrue(d.isEmpty(), "text vs OpenMetrics:\n" + String.join("\n", d));
    }

    /** promtool check metrics on a text or OpenMetrics body; returns its output, "" when clean. */
    private String promtool(String body) throws Exception {
        Path file = Files.createTempFile(nginx.prefix(), "scrape", ".txt");
        Files.writeString(file, body);
        String out = Traffic.exec(List.of("sh", "-c", "/usr/bin/promtool check metrics < " + file
                + " 2>&1; echo rc=$?")).trim();
        Files.delete(file);
        if (out.endsWith("rc=0")) {
            return "";
        }
        if (body.endsWith("# EOF\n") && out.endsWith("rc=3")) {
            // promtool 2.42 lints with the 0.0.4 parser: OpenMetrics names a counter family
            // without _total in HELP/TYPE (as the OM spec requires), so promtool reports
            // "<family>_total no help text" for each counter. That lint (exit code 3, not a
            // parse error) is the only one accepted, and only on OpenMetrics bodies.
            List<String> other = out.lines().filter(l -> !l.matches("nginx_ipng_\\w+_total no help text"))
                    .filter(l -> !l.equals("rc=3")).toList();
            if (other.isEmpty()) {
                return "";
            }
        }
        return out;
    }

    private static String codeClass(String code, boolean classes) {
        return classes ? code.charAt(0) + "xx" : code;
    }

    /** Every (vip, code) of the access log, all three counters, in the flattened scrape; nothing else. */
    private void assertEqualsAccessLog(Map<String, Double> flat, boolean classes) {
        AccessLog log = new AccessLog(nginx.accessLog());
        assertTrue(log.lines > 50, "traffic was sent");
        Map<String, double[]> expected = new TreeMap<>();
        for (Map.Entry<AccessLog.Key, AccessLog.Totals> e : log.byKey.entrySet()) {
            String k = "direct|" + e.getKey().vip() + "|" + codeClass(e.getKey().code(), classes);
            double[] t = expected.computeIfAbsent(k, x -> new double[3]);
            t[0] += e.getValue().requests;
            t[1] += e.getValue().bytesIn;
            t[2] += e.getValue().bytesOut;
        }
        Map<String, Double> actual = new TreeMap<>();
        flat.forEach((k, v) -> {
            if (k.startsWith("requests|") || k.startsWith("bytes_in|") || k.startsWith("bytes_out|")) {
                actual.put(k, v);
            }
        });
        Map<String, Double> want = new TreeMap<>();
        expected.forEach((k, t) -> {
            want.put("requests|" + k, t[0]);
            want.put("bytes_in|" + k, t[1]);
            want.put("bytes_out|" + k, t[2]);
        });
        List<String> d = JsonScrape.differences(want, actual);
        assertTrue(d.isEmpty(), "access log vs scrape:\n" + String.join("\n", d));
        for (Map.Entry<String, Long> e : log.requestsByVip.entrySet()) {
            assertEquals((double) e.getValue(), flat.get("duration_count|direct|" + e.getKey()),
                    "duration count of " + e.getKey());
        }
    }

    private void assertNoCrash(List<Long> pidsBefore) {
        assertEquals(new TreeSet<>(pidsBefore), new TreeSet<>(nginx.workerPids()), "workers were replaced");
        String log = nginx.errorLog();
        assertFalse(log.contains("exited on signal"), nginx.errorLogTail(30));
        assertFalse(log.contains("[alert]"), nginx.errorLogTail(30));
    }

    // -------------------------------------------------------------- tests

    @Test
    void jsonTextAndOpenMetricsAgreeNumberForNumberAndEqualTheAccessLog() throws Exception {
        startDefault();
        traffic(60);
        Moment m = moment(null);
        assertAgree(m);
        Map<String, Double> flat = JsonScrape.flatten(m.text);
        assertEqualsAccessLog(flat, false);
        assertEqualsAccessLog(m.json.flatten(), false);
        assertEquals(Set.of("direct|127.0.0.1", "direct|127.0.0.2", "direct|::1"), JsonScrape.series(flat));
        // the JSON shape of the reference
        assertEquals(Set.of("schema", "by_source", "meta"), m.json.root.keySet());
        Map<String, Object> vip = JsonScrape.obj(m.json.vips("direct"), "::1");
        assertEquals(List.of("rate_1s", "rate_10s", "rate_60s", "codes", "request_duration_ms",
                "upstream_response_ms"), List.copyOf(vip.keySet()));
        Map<String, Object> buckets = JsonScrape.obj(JsonScrape.obj(vip, "request_duration_ms"), "buckets");
        assertEquals(List.of("1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000",
                "+Inf"), List.copyOf(buckets.keySet()));
        assertEquals(Set.of("200", "204", "404", "500"), JsonScrape.obj(vip, "codes").keySet());
        // self-metrics
        assertEquals(1.0, m.text.sum("nginx_ipng_build_info", Map.of()));
        Scrape.Sample build = m.text.named("nginx_ipng_build_info").get(0);
        assertTrue(build.label("nginx_version").startsWith("1."), build.toString());
        assertTrue(build.label("java_version").matches("\\d+.*"), build.toString());
        assertTrue(build.label("version").matches("\\d+\\.\\d+\\.\\d+.*"), build.toString());
        assertTrue(m.text.named("nginx_ipng_flushes_total").size() >= 2, "both workers flushed");
        // scrapes are counted once rendered: the third scrape of the moment sees the first two
        assertTrue(m.openMetrics.sum("nginx_ipng_scrape_duration_seconds_count", Map.of()) >= 2);
        assertTrue(m.text.sum("nginx_ipng_zone_bytes_used", Map.of()) > 0);
        assertEquals(4 * 1024 * 1024, m.json.flatten().get("zone_bytes_total"));
        assertEquals(0.0, m.json.flatten().get("zone_full_events"));
        // both text formats pass promtool; OpenMetrics ends with # EOF
        assertEquals("", promtool(m.text.text));
        assertEquals("", promtool(m.openMetrics.text));
        assertTrue(m.openMetrics.text.endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
        assertFalse(m.text.text.contains("# EOF"));
    }

    @Test
    void contentTypeOfEveryFormat() throws Exception {
        startDefault();
        String[][] cases = {
            {null, TEXT_TYPE},
            {"*/*", TEXT_TYPE},
            {"text/plain", TEXT_TYPE},
            {"application/json", JSON_TYPE},
            {"text/html, application/json;q=0.9", JSON_TYPE},
            {"application/openmetrics-text", OPENMETRICS_TYPE},
            {"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", OPENMETRICS_TYPE},
        };
        for (String[] c : cases) {
            RawHttp.Response r = get(null, c[0]);
            assertEquals(c[1], r.header("Content-Type"), "Accept: " + c[0]);
            assertEquals("no-store", r.header("Cache-Control"), "Accept: " + c[0]);
        }
    }

    @Test
    void filtersInBothFormats() throws Exception {
        startDefault();
        traffic(30);
        Thread.sleep(400);
        Set<String> all = Set.of("direct|127.0.0.1", "direct|127.0.0.2", "direct|::1");
        Map<String, Set<String>> cases = new java.util.LinkedHashMap<>();
        cases.put("source_tag=direct", all);
        cases.put("source_tag=%64irect", all);                        // percent-encoded value
        cases.put("%73ource_tag=direct", all);                        // percent-encoded name
        cases.put("other=1&source_tag=direct&x", all);                // other parameters ignored
        cases.put("source_tag=Direct", Set.of());                     // case-sensitive
        cases.put("source_tag=direc", Set.of());                      // exact, not a prefix
        cases.put("source_tag=", Set.of());                           // empty value matches no tag
        cases.put("source_tag=nope", Set.of());                       // unknown
        cases.put("vip=127.0.0.2", Set.of("direct|127.0.0.2"));
        cases.put("vip=::1", Set.of("direct|::1"));
        cases.put("vip=%3A%3A1", Set.of("direct|::1"));               // percent-encoded
        cases.put("vip=%3a%3a1", Set.of("direct|::1"));
        cases.put("vip=0:0:0:0:0:0:0:1", Set.of("direct|::1"));       // uncompressed IPv6
        cases.put("vip=0000:0000:0000:0000:0000:0000:0000:0001", Set.of("direct|::1"));
        cases.put("vip=[::1]", Set.of("direct|::1"));                 // brackets
        cases.put("vip=::ffff:127.0.0.1", Set.of("direct|127.0.0.1")); // v4-mapped is the IPv4 VIP
        cases.put("vip=10.9.9.9", Set.of());                          // unknown
        cases.put("vip=not-an-address", Set.of());
        cases.put("vip=", Set.of());
        cases.put("vip=127.0.0.1&source_tag=direct", Set.of("direct|127.0.0.1")); // intersect
        cases.put("vip=127.0.0.1&source_tag=nope", Set.of());
        // a repeated parameter: the last occurrence wins (ScrapeFilter)
        cases.put("vip=127.0.0.1&vip=127.0.0.2", Set.of("direct|127.0.0.2"));
        cases.put("vip=10.9.9.9&vip=::1", Set.of("direct|::1"));
        cases.put("source_tag=nope&source_tag=direct&vip=::1", Set.of("direct|::1"));
        cases.put("source_tag=direct&source_tag=nope", Set.of());
        Scrape unfiltered = text(null);
        Map<String, Double> whole = JsonScrape.flatten(unfiltered);
        for (Map.Entry<String, Set<String>> c : cases.entrySet()) {
            Moment m = moment(c.getKey());
            String what = "?" + c.getKey();
            Map<String, Double> flat = JsonScrape.flatten(m.text);
            assertEquals(c.getValue(), JsonScrape.series(flat), what + " (text)");
            assertEquals(c.getValue(), JsonScrape.series(m.json.flatten()), what + " (JSON)");
            assertAgree(m);
            // a filtered series carries exactly its unfiltered counters
            flat.forEach((k, v) -> {
                if (k.startsWith("requests|") || k.startsWith("bytes_")) {
                    assertEquals(whole.get(k), v, what + " " + k);
                }
            });
            if (c.getValue().isEmpty()) {
                // an empty but valid document: families, self-metrics, meta
                assertEquals(Map.of(), JsonScrape.obj(m.json.root, "by_source"), what);
                assertTrue(m.text.text.contains("# TYPE nginx_ipng_requests_total counter"), what);
                assertEquals(1.0, m.text.sum("nginx_ipng_build_info", Map.of()), what);
                assertEquals("", promtool(m.text.text), what);
                assertEquals("", promtool(m.openMetrics.text), what);
            }
        }
    }

    @Test
    void hostileQueryStringsAndAcceptHeadersNeverCrashAndNeverGiveInvalidOutput() throws Exception {
        startDefault();
        traffic(10);
        Thread.sleep(300);
        List<Long> pids = nginx.workerPids();
        Random rnd = new Random(20261121);
        int answered = 0;
        int checked = 0;
        int texts = 0;
        Map<Integer, Integer> statuses = new TreeMap<>();
        for (int i = 0; i < 320; i++) {
            byte[] query = hostileQuery(rnd, i);
            byte[] accept = hostileAccept(rnd, i);
            ByteArrayOutputStream req = new ByteArrayOutputStream();
            req.writeBytes("GET /status?".getBytes(StandardCharsets.US_ASCII));
            req.writeBytes(query);
            req.writeBytes(" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".getBytes(StandardCharsets.US_ASCII));
            if (accept != null) {
                req.writeBytes("Accept: ".getBytes(StandardCharsets.US_ASCII));
                req.writeBytes(accept);
                req.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            req.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            RawHttp.Response r;
            try (RawHttp.Connection c = RawHttp.open(port)) {
                c.writeRaw(req.toByteArray());
                r = c.read("GET");
            }
            statuses.merge(r.status(), 1, Integer::sum);
            String what = "request " + i + ": " + printable(req.toByteArray());
            if (r.status() != 200) {
                // only nginx's own parser may refuse a request (bad request line, header too long)
                assertTrue(r.status() == 400 || r.status() == 414, what + "\n-> " + r);
                continue;
            }
            answered++;
            String type = r.header("Content-Type");
            if (JSON_TYPE.equals(type)) {
                JsonScrape j = new JsonScrape(r.body()); // throws if invalid
                assertEquals(1, j.schema(), what);
                j.flatten();
            } else {
                assertTrue(TEXT_TYPE.equals(type) || OPENMETRICS_TYPE.equals(type), what + " type " + type);
                Scrape s = new Scrape(r.bodyText()); // every line is a comment or a sample
                assertEquals(1.0, s.sum("nginx_ipng_build_info", Map.of()), what);
                if (OPENMETRICS_TYPE.equals(type)) {
                    assertTrue(s.text.endsWith("# EOF\n"), what);
                }
                if (texts++ % 20 == 0) {
                    assertEquals("", promtool(s.text), what);
                    checked++;
                }
            }
        }
        assertTrue(answered > 200, "most hostile requests reach the module: " + statuses);
        assertTrue(checked >= 5, "promtool ran " + checked + " times");
        assertNoCrash(pids);
        // and the module still counts and answers
        traffic(5);
        assertAgree(moment(null));
        assertNoCrash(pids);
    }

    private static final String[] PIECES = {
        "source_tag=direct", "vip=127.0.0.1", "vip=::1", "vip=0:0:0:0:0:0:0:1", "%", "%%", "%z", "%zz", "%0",
        "%00", "%ff%fe", "%e2%82", "%C3%A9", "+", "=", "==", "&", "&&", "source_tag", "vip", "vip=%5B::1%5D",
        "source_tag=%00direct", "vip=1.2.3.4.5", "vip=999.1.1.1", "vip=::ffff:127.0.0.1", "vip=1:2:3:4:5:6:7:8:9",
        "vip=:::", "vip=::1%25lo", "source_tag=" + "x".repeat(70), ";", "?", "/", "#frag",
    };

    private static byte[] hostileQuery(Random rnd, int i) {
        StringBuilder s = new StringBuilder();
        switch (i % 6) {
            case 0 -> { // very long (a few are longer than nginx's 8k request line limit)
                s.append(rnd.nextBoolean() ? "source_tag=" : "vip=");
                s.append("a".repeat(rnd.nextInt(i % 12 == 0 ? 9000 : 6000)));
            }
            case 1 -> { // binary bytes
                byte[] b = new byte[1 + rnd.nextInt(200)];
                rnd.nextBytes(b);
                for (int k = 0; k < b.length; k++) {
                    if (b[k] == ' ' || b[k] == '\r' || b[k] == '\n' || (b[k] >= 0 && b[k] < 0x20 && k % 3 != 0)) {
                        b[k] = (byte) ('a' + k % 26);
                    }
                }
                return b;
            }
            case 2 -> { // percent garbage and pieces
                for (int k = rnd.nextInt(20); k >= 0; k--) {
                    s.append(PIECES[rnd.nextInt(PIECES.length)]);
                }
            }
            case 3 -> { // repeated keys
                int n = 1 + rnd.nextInt(300);
                for (int k = 0; k < n; k++) {
                    s.append(k % 2 == 0 ? "vip=127.0.0." + rnd.nextInt(4) : "source_tag=direct").append('&');
                }
            }
            case 4 -> { // percent-encode arbitrary bytes
                for (int k = rnd.nextInt(100); k >= 0; k--) {
                    s.append(String.format("%%%02x", rnd.nextInt(256)));
                }
            }
            default -> s.append(PIECES[rnd.nextInt(PIECES.length)]).append('&')
                    .append(PIECES[rnd.nextInt(PIECES.length)]);
        }
        return s.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static final String[] ACCEPTS = {
        "application/json", "application/JSON", "application/openmetrics-text", "application/openmetrics-text;",
        "application/openmetrics-text; version=garbage", "application/openmetrics-text;version=0.0.1",
        "application/openmetrics-text; version=1.0.0; charset=utf-8", "text/plain;version=0.0.4", "*/*", "",
        ";;;,,,", "application/json;q=0", "text/html,application/xhtml+xml,*/*;q=0.8",
    };

    private static byte[] hostileAccept(Random rnd, int i) {
        switch (i % 5) {
            case 0:
                return null;
            case 1: { // binary (no CR/LF, which would end the header)
                byte[] b = new byte[1 + rnd.nextInt(300)];
                rnd.nextBytes(b);
                for (int k = 0; k < b.length; k++) {
                    if (b[k] == '\r' || b[k] == '\n' || b[k] == 0) {
                        b[k] = 'x';
                    }
                }
                return b;
            }
            case 2: // very long, the format asked for at its end
                return (",text/plain;q=0.1".repeat(50 + rnd.nextInt(300))
                        + ACCEPTS[rnd.nextInt(ACCEPTS.length)]).getBytes(StandardCharsets.US_ASCII);
            default:
                return (ACCEPTS[rnd.nextInt(ACCEPTS.length)] + (rnd.nextBoolean() ? ""
                        : "," + ACCEPTS[rnd.nextInt(ACCEPTS.length)])).getBytes(StandardCharsets.US_ASCII);
        }
    }

    private static String printable(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (int k = 0; k < Math.min(b.length, 300); k++) {
            int c = b[k] & 0xff;
            s.append(c >= 0x20 && c < 0x7f ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return b.length > 300 ? s + "...(" + b.length + " bytes)" : s.toString();
    }

    @Test
    void statusClassModeInBothFormats() throws Exception {
        start("ipng:4m", "ipng_stats_status_codes class;", "", List.of("127.0.0.1", "127.0.0.2", "[::1]"));
        traffic(30);
        Moment m = moment(null);
        assertAgree(m);
        Map<String, Double> flat = JsonScrape.flatten(m.text);
        assertEqualsAccessLog(flat, true);
        assertEqualsAccessLog(m.json.flatten(), true);
        assertEquals(Set.of("2xx", "4xx", "5xx"), JsonScrape.obj(JsonScrape.obj(m.json.vips("direct"), "127.0.0.2"),
                "codes").keySet());
        for (Scrape.Sample s : m.text.named("nginx_ipng_requests_total")) {
            assertTrue(s.label("code").matches("[1-5]xx"), s.toString());
        }
        assertEquals("", promtool(m.text.text));
        assertEquals("", promtool(m.openMetrics.text));
    }

    /** Status codes the flood locations return (one location each); all answer with a body. */
    /** A location {@code /c/<code>} answering that code, for every flood code. */
    private static String floodLocations() {
        StringBuilder locations = new StringBuilder();
        for (int c : floodCodes()) {
            locations.append("location = /c/").append(c).append(" { return ").append(c).append(" \"x\"; }\n");
        }
        return locations.toString();
    }

    /** Every flood code on every VIP, three clients at a time. */
    private void flood(List<String> vips) throws Exception {
        List<Runnable> jobs = new ArrayList<>();
        for (String v : vips) {
            List<String> urls = new ArrayList<>();
            for (int c : floodCodes()) {
                urls.add("http://" + v + ":" + port + "/c/" + c);
            }
            jobs.add(() -> Traffic.get(urls));
        }
        Traffic.concurrently(jobs, 3);
    }

    private static List<Integer> floodCodes() {
        List<Integer> codes = new ArrayList<>();
        for (int c = 200; c <= 599; c++) {
            if ((c >= 300 && c < 400) || c == 408 || c == 444 || c == 499) {
                continue;
            }
            codes.add(c);
        }
        return codes;
    }

    @Test
    void aFullZoneDropsNewKeysKeepsExistingKeysExactAndCountsFullEvents() throws Exception {
        List<String> vips = List.of("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "[::1]");
        start("small:128k", "", floodLocations(), vips);
        List<Long> pids = nginx.workerPids();
        // 1. the existing keys: 3 codes on every VIP
        for (String v : vips) {
            Traffic.get(urls(v, 12));
        }
        Thread.sleep(400);
        Set<String> existing = new TreeSet<>(JsonScrape.flatten(text(null)).keySet());
        Map<String, Double> first = JsonScrape.flatten(text(null));
        assertEquals(0.0, first.get("zone_full_events"));
        // 2. far more new keys than the zone holds: every flood code on every VIP
        flood(vips);
        // 3. the existing keys keep counting while the zone is full
        List<Runnable> again = new ArrayList<>();
        for (String v : vips) {
            again.add(() -> Traffic.get(urls(v, 30)));
        }
        Traffic.concurrently(again, 3);
        Moment m = moment(null);
        assertAgree(m);
        Map<String, Double> flat = JsonScrape.flatten(m.text);
        double full = flat.get("zone_full_events");
        assertTrue(full > 0, "zone_full_events_total increases");
        long keys = flat.keySet().stream().filter(k -> k.startsWith("requests|")).count();
        long offered = (long) vips.size() * (floodCodes().size() + 4);
        assertTrue(keys < offered, keys + " keys held of " + offered + " offered");
        // keys from before the zone filled are exact; no key holds more than nginx logged
        AccessLog log = new AccessLog(nginx.accessLog());
        int exact = 0;
        for (Map.Entry<AccessLog.Key, AccessLog.Totals> e : log.byKey.entrySet()) {
            String k = "direct|" + e.getKey().vip() + "|" + e.getKey().code();
            Double requests = flat.get("requests|" + k);
            if (existing.contains("requests|" + k)) {
                assertEquals((double) e.getValue().requests, requests, "existing key " + k);
                assertEquals((double) e.getValue().bytesIn, flat.get("bytes_in|" + k), "existing key " + k);
                assertEquals((double) e.getValue().bytesOut, flat.get("bytes_out|" + k), "existing key " + k);
                exact++;
            } else if (requests != null) {
                assertTrue(requests <= e.getValue().requests, "key " + k + " over-counted");
            }
        }
        assertEquals(vips.size() * 4, exact, "every existing key compared");
        assertEquals("", promtool(m.text.text));
        assertNoCrash(pids);
        System.out.printf("zone full: %d keys held of %d offered, %.0f full events, %.0f of %.0f bytes used%n",
                keys, offered, full, flat.get("zone_bytes_used"), flat.get("zone_bytes_total"));
    }

    /**
     * An answer of about 1 MB (3,000 keys): the render thread hands it over in
     * 64 KB chunks into memory C maps and grows for it (256 KB, then doubled),
     * and nginx sends it from there. One worker; a client that reads slowly
     * keeps the first answer in flight (with sndbuf=16k the kernel holds at
     * most some 40 KB of it, so nearly all of it waits in nginx) while a
     * second scrape is rendered and sent in full: each answer must stay whole
     * until its own request ends.
     * Both equal the access log key for key.
     */
    @Test
    void aLargeAnswerStaysWholeWhileAnotherScrapeIsSent() throws Exception {
        List<String> vips = new ArrayList<>();
        List<String> listens = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            vips.add("127.0.0." + i);
            listens.add("127.0.0." + i + " sndbuf=16k");
        }
        start("ipng:4m", "", floodLocations(), listens, 1);
        List<Long> pids = nginx.workerPids();
        flood(vips);
        Thread.sleep(400);
        try (java.net.Socket slow = new java.net.Socket()) {
            slow.setReceiveBufferSize(4096);
            slow.connect(new java.net.InetSocketAddress("127.0.0.1", port), 5000);
            slow.setSoTimeout(10_000);
            slow.getOutputStream().write("GET /status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
            java.io.InputStream in = slow.getInputStream();
            byte[] begin = in.readNBytes(2048);
            // while the first answer waits for its reader, a second one is rendered and sent
            Scrape fast = text(null);
            assertTrue(fast.text.length() > 700_000, "an answer of " + fast.text.length() + " bytes");
            assertEqualsAccessLog(JsonScrape.flatten(fast), false);
            ByteArrayOutputStream whole = new ByteArrayOutputStream();
            whole.write(begin);
            in.transferTo(whole);
            byte[] response = whole.toByteArray();
            String text = new String(response, StandardCharsets.UTF_8);
            int bodyAt = text.indexOf("\r\n\r\n") + 4;
            String head = text.substring(0, bodyAt);
            assertTrue(head.startsWith("HTTP/1.1 200 "), head);
            int bodyLength = response.length - bodyAt;
            assertTrue(head.contains("Content-Length: " + bodyLength + "\r\n"),
                head + "(body: " + bodyLength + " bytes)");
            String body = text.substring(bodyAt);
            assertEqualsAccessLog(JsonScrape.flatten(new Scrape(body)), false);
            assertEquals("", promtool(body));
        }
        assertNoCrash(pids);
    }

    /**
     * EWMA rates under a paced load of R req/s on one VIP for T seconds, then
     * idle. With one tick per second, from 0: rate_tau(n) = R (1 - e^(-n/tau))
     * (SharedZone.tick), so after T = 30 s: 1s ~ R, 10s ~ 0.95 R, 60s ~ 0.39 R.
     * A per-second count varies by the other worker's unflushed 100 ms, so
     * the 1 s rate gets +-30 %, the slower ones +-12 %. A VIP that only had a
     * burst at the start decays toward 0. About 35 s.
     */
    @Test
    void ratesFollowASteadyLoadAndDecayWhenIdle() throws Exception {
        startDefault();
        final int rate = 40;
        final int seconds = 30;
        Traffic.get(urls("127.0.0.2", 60)); // a burst on a VIP that then stays idle
        long start = System.nanoTime();
        long period = 1_000_000_000L / rate;
        int sent = 0;
        try (RawHttp.Connection a = RawHttp.open(port); RawHttp.Connection b = RawHttp.open(port)) {
            for (int i = 0; i < rate * seconds; i++) {
                long due = start + i * period;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                RawHttp.Response r = (i % 2 == 0 ? a : b).exchange(RawHttp.Request.get("/?i=" + i));
                assertEquals(200, r.status());
                sent++;
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        double actual = sent / elapsed; // what the loop achieved (a busy machine may lag)
        Thread.sleep(150);
        Map<String, Double> busy = JsonScrape.flatten(text(null));
        double n = seconds - 1; // ticks that saw traffic (the first may be partial)
        double r1 = busy.get("rate_1s|direct|127.0.0.1");
        double r10 = busy.get("rate_10s|direct|127.0.0.1");
        double r60 = busy.get("rate_60s|direct|127.0.0.1");
        String what = String.format("%.1f req/s for %.1f s: rate_1s %.2f rate_10s %.2f rate_60s %.2f",
                actual, elapsed, r1, r10, r60);
        System.out.println("rates: " + what);
        assertEquals(actual, r1, actual * 0.30, what);
        assertEquals(actual * (1 - Math.exp(-n / 10)), r10, actual * 0.12, what);
        assertEquals(actual * (1 - Math.exp(-n / 60)), r60, actual * 0.12, what);
        // the VIP idle since the start has decayed
        double idle1 = busy.get("rate_1s|direct|127.0.0.2");
        double idle10 = busy.get("rate_10s|direct|127.0.0.2");
        assertTrue(idle1 < 0.01, "idle VIP rate_1s " + idle1);
        assertTrue(idle10 < 60 * Math.exp(-(seconds - 2) / 10.0), "idle VIP rate_10s " + idle10);
        // stop: 3 s later the 1 s rate is near 0, the others decayed by e^(-3/tau)
        Thread.sleep(3000);
        Map<String, Double> idle = JsonScrape.flatten(text(null));
        double i1 = idle.get("rate_1s|direct|127.0.0.1");
        double i10 = idle.get("rate_10s|direct|127.0.0.1");
        double i60 = idle.get("rate_60s|direct|127.0.0.1");
        String after = String.format("3 s idle: rate_1s %.3f rate_10s %.2f rate_60s %.2f", i1, i10, i60);
        System.out.println("rates: " + after);
        // e^-3 = 0.05 after 3 whole ticks; the last tick may lag by up to a
        // second plus a flush interval on a busy machine: e^-1.5 = 0.22
        assertTrue(i1 < actual * 0.25, after);
        assertEquals(r10 * Math.exp(-3 / 10.0), i10, actual * 0.12, after);
        assertEquals(r60 * Math.exp(-3 / 60.0), i60, actual * 0.06, after);
        assertTrue(i60 > 0, after);
    }

    static {
        if (!Files.isExecutable(Path.of("/usr/bin/promtool"))) {
            fail("promtool (/usr/bin/promtool, Debian package prometheus) is needed");
        }
    }
}
