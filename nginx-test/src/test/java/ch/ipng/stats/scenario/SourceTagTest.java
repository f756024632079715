package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.ProcessResult;
import ch.ipng.stats.nginxtest.RawHttp;
import ch.ipng.stats.nginxtest.TestEnv;
import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Source tags travel from nginx.conf to every output as the same bytes:
 * UTF-8 outside the Basic Multilingual Plane stays itself (JNI's modified
 * UTF-8 once merged the two flags below into one series), and what could
 * not be a label value as it is (invalid UTF-8, control characters) fails
 * nginx -t with the tag named.
 */
class SourceTagTest {

    /* regional indicators: a Swiss and a German flag, each two 4-byte UTF-8 characters */
    private static final String CH = "a\uD83C\uDDE8\uD83C\uDDED";
    private static final String DE = "a\uD83C\uDDE9\uD83C\uDDEA";

    private NginxInstance nginx;

    @BeforeEach
    void setUp() {
        nginx = NginxInstance.create(TestEnv.nginxBin(), 3);
    }

    @AfterEach
    void tearDown() {
        nginx.close();
    }

    private String config(String listens) {
        return NginxConf.head("info") + """
            http {
                ipng_stats_zone ipng:1m;
                ipng_stats_classpath %s;
                ipng_stats_flush_interval 100ms;
                server {
                    listen 127.0.0.1:%d;
                    %s
                    location / { return 200 "$ipng_source_tag"; }
                    location /status { ipng_stats; access_log off; }
                }
            }
            """.formatted(TestEnv.jar(), nginx.port(), listens);
    }

    @Test
    void tagsWithFourByteCharactersStayApartInEveryFormat() throws Exception {
        nginx.writeConfig(config("listen 127.0.0.1:%d ipng_source_tag=%s;\nlisten 127.0.0.1:%d ipng_source_tag=%s;"
            .formatted(nginx.port(1), CH, nginx.port(2), DE)));
        nginx.start();
        assertEquals(CH, Traffic.fetch("http://127.0.0.1:" + nginx.port(1) + "/"));
        Traffic.get(Traffic.urls("http", "127.0.0.1", nginx.port(1), 2, "/"));
        Traffic.get(Traffic.urls("http", "127.0.0.1", nginx.port(2), 4, "/"));

        Map<String, Long> expected = Map.of(CH, 3L, DE, 4L);
        // each worker adds its counts to the zone every flush interval (100 ms)
        for (int i = 0; i < 50 && !expected.equals(perTag(new Scrape(scrape("", null).bodyText()))); i++) {
            Thread.sleep(100);
        }
        assertEquals(expected, perTag(new Scrape(scrape("", null).bodyText())));
        assertEquals(expected, perTag(new Scrape(scrape("", ScrapeSurfaceTest.OPENMETRICS_ACCEPT).bodyText())));
        Map<String, Long> json = new TreeMap<>();
        JsonScrape j = new JsonScrape(scrape("", "application/json").body());
        for (String tag : JsonScrape.obj(j.root, "by_source").keySet()) {
            Map<String, Object> codes = JsonScrape.obj(JsonScrape.obj(j.vips(tag), "127.0.0.1"), "codes");
            json.put(tag, (long) JsonScrape.num(JsonScrape.obj(codes, "200"), "requests"));
        }
        assertEquals(expected, json);

        String only = "source_tag=" + URLEncoder.encode(DE, StandardCharsets.UTF_8);
        assertEquals(Map.of(DE, 4L), perTag(new Scrape(scrape(only, null).bodyText())));
    }

    private RawHttp.Response scrape(String query, String accept) {
        RawHttp.Request r = RawHttp.Request.get("/status" + (query.isEmpty() ? "" : "?" + query));
        if (accept != null) {
            r = r.header("Accept", accept);
        }
        RawHttp.Response resp = RawHttp.send(nginx.port(), r);
        assertEquals(200, resp.status(), resp.toString());
        return resp;
    }

    private static Map<String, Long> perTag(Scrape s) {
        Map<String, Long> out = new TreeMap<>();
        for (Scrape.Sample x : s.named("nginx_ipng_requests_total")) {
            if (!x.label("source_tag").equals("direct")) {
                out.merge(x.label("source_tag"), (long) x.value(), Long::sum);
            }
        }
        return out;
    }

    @Test
    void refusesTagsThatAreNotUtf8OrHoldControlCharacters() throws Exception {
        assertRefused(new byte[] {'a', (byte) 0xff, 'b'}, "source tag \"a\\xffb\" in \"ipng_source_tag=\" is not valid UTF-8");
        assertRefused(new byte[] {'a', (byte) 0xc0, (byte) 0xaf}, "source tag \"a\\xc0\\xaf\" in \"ipng_source_tag=\" is not valid UTF-8");
        assertRefused(new byte[] {'a', (byte) 0xed, (byte) 0xa0, (byte) 0x80}, "is not valid UTF-8");
        assertRefused(new byte[] {'a', 0x01, 'b'}, "source tag \"a\\x01b\" in \"ipng_source_tag=\" contains a control character");
        assertRefused(new byte[] {'a', (byte) 0xc2, (byte) 0x85}, "contains a control character");
        assertRefused("a".repeat(65).getBytes(StandardCharsets.US_ASCII), "is longer than 64 bytes");
    }

    private void assertRefused(byte[] tag, String message) throws Exception {
        ByteArrayOutputStream conf = new ByteArrayOutputStream();
        String[] around = config("listen 127.0.0.1:" + nginx.port(1) + " ipng_source_tag=TAG;").split("TAG");
        conf.write(around[0].getBytes(StandardCharsets.UTF_8));
        conf.write(tag);
        conf.write(around[1].getBytes(StandardCharsets.UTF_8));
        Files.write(nginx.confFile(), conf.toByteArray());
        ProcessResult r = nginx.testConfig();
        assertFalse(r.ok(), r.toString());
        assertTrue(r.output().contains(message), r.toString());
    }

    /** The default source is a tag too; nginx turns "\t" in a quoted string into a tab. */
    @Test
    void refusesADefaultSourceWithAControlCharacter() {
        nginx.writeConfig(config("").replace("ipng_stats_zone ipng:1m;",
            "ipng_stats_zone ipng:1m;\nipng_stats_default_source \"x\\ty\";"));
        ProcessResult r = nginx.testConfig();
        assertFalse(r.ok(), r.toString());
        assertTrue(r.output().contains("source tag \"x\\x09y\" contains a control character"), r.toString());
    }
}
