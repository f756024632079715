package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.TestEnv;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Per-interface attribution on real interfaces: clients in two network
 * namespaces reach one nginx port through two veth devices, plus direct
 * traffic on loopback, over IPv4 and IPv6, in both attribution modes and
 * across reloads. Per-tag counts must equal nginx's own access log.
 */
class ListenAttributionTest {

    private static final String LOG = "log_format tags '$ipng_source_tag $server_addr $status';";

    private Namespaces ns;
    private NginxInstance nginx;
    private int port;

    @BeforeEach
    void setUp() throws Exception {
        ns = Namespaces.create();
        nginx = NginxInstance.create(ns.nginxBin(), 1).waitForPort(false);
        port = nginx.port();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (nginx != null) {
            nginx.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    private String config(String mode, String listens, boolean module) {
        String ipng = module ? """
                ipng_stats_zone ipng:1m;
                ipng_stats_classpath %s;
                ipng_stats_flush_interval 100ms;
                ipng_stats_attribution %s;
                %s
                access_log logs/access.log tags;
            """.formatted(TestEnv.jar(), mode, LOG) : "";
        return """
            %s
            http {
                %s
                server {
                    %s
                    location / { return 200 "%s\\n"; }
                    %s
                }
            }
            """.formatted(NginxConf.head("info", module), ipng,
                listens.replace("PORT", Integer.toString(port)),
                module ? "tag=$ipng_source_tag" : "plain",
                module ? "location /status { ipng_stats; access_log off; }" : "");
    }

    private static final String LISTENS = """
        listen PORT device=ipngt-a ipng_source_tag=mg1;
        listen PORT device=ipngt-b;
        listen PORT;
        listen [::]:PORT device=ipngt-a ipng_source_tag=mg1;
        listen [::]:PORT device=ipngt-b;
        listen [::]:PORT;
        """;

    private void traffic(int n) {
        ns.load(ns.c1, "http://192.0.2.1:" + port + "/", n);
        ns.load(ns.c1, "http://[2001:db8:a::1]:" + port + "/", n);
        ns.load(ns.c2, "http://198.51.100.1:" + port + "/", n + 3);
        ns.load(ns.c2, "http://[2001:db8:b::1]:" + port + "/", n + 3);
        ns.load(ns.srv, "http://127.0.0.1:" + port + "/", n + 5);
        ns.load(ns.srv, "http://[::1]:" + port + "/", 2);
    }

    /** Per (tag, vip) counts from the scrape equal those of the access log. */
    private void assertCountsMatchAccessLog() throws InterruptedException {
        Thread.sleep(400);
        Scrape s = new Scrape(ns.curl(ns.srv, "http://127.0.0.1:" + port + "/status"));
        Map<String, Long> logged = new TreeMap<>();
        for (String line : nginx.accessLog()) {
            String[] f = line.split(" ");
            logged.merge(f[0] + " " + f[1], 1L, Long::sum);
        }
        Map<String, Long> counted = new TreeMap<>();
        for (Scrape.Sample x : s.named("nginx_ipng_requests_total")) {
            counted.merge(x.label("source_tag") + " " + x.label("vip"), (long) x.value(), Long::sum);
        }
        assertEquals(logged, counted, s.text);
    }

    private void assertTags() {
        assertEquals("tag=mg1\n", ns.curl(ns.c1, "http://192.0.2.1:" + port + "/"));
        assertEquals("tag=mg1\n", ns.curl(ns.c1, "http://[2001:db8:a::1]:" + port + "/"));
        assertEquals("tag=ipngt-b\n", ns.curl(ns.c2, "http://198.51.100.1:" + port + "/"));
        assertEquals("tag=ipngt-b\n", ns.curl(ns.c2, "http://[2001:db8:b::1]:" + port + "/"));
        assertEquals("tag=direct\n", ns.curl(ns.srv, "http://127.0.0.1:" + port + "/"));
    }

    private Map<String, Long> expectedPerTag(int n) {
        return Map.of("mg1", 2L * n, "ipngt-b", 2L * (n + 3), "direct", n + 5 + 2L);
    }

    private Map<String, Long> perTag() throws InterruptedException {
        Thread.sleep(400);
        Scrape s = new Scrape(ns.curl(ns.srv, "http://127.0.0.1:" + port + "/status"));
        Map<String, Long> out = new TreeMap<>();
        for (Scrape.Sample x : s.named("nginx_ipng_requests_total")) {
            out.merge(x.label("source_tag"), (long) x.value(), Long::sum);
        }
        return out;
    }

    @Test
    void bindModeGivesEachDeviceItsOwnSocketAndCountsPerTagExactly() throws Exception {
        nginx.writeConfig(config("bind", LISTENS, true));
        nginx.start();
        ns.waitForPort(port);
        String ss = ns.listeners();
        assertTrue(ss.contains("0.0.0.0%ipngt-a:" + port), ss);
        assertTrue(ss.contains("0.0.0.0%ipngt-b:" + port), ss);
        assertTrue(ss.contains("[::]%ipngt-a:" + port), ss);
        traffic(40);
        assertEquals(new TreeMap<>(expectedPerTag(40)), perTag());
        assertEquals(0, (long) new Scrape(ns.curl(ns.srv, "http://127.0.0.1:" + port + "/status"))
                .sum("nginx_ipng_ifindex_misses_total", Map.of()), "misses are a pktinfo-mode figure");
        assertCountsMatchAccessLog();
        assertTags();
    }

    @Test
    void pktinfoModeKeepsPlainSocketsAndCountsPerTagExactly() throws Exception {
        nginx.writeConfig(config("pktinfo", LISTENS, true));
        nginx.start();
        ns.waitForPort(port);
        String ss = ns.listeners();
        assertFalse(ss.contains("%ipngt"), "pktinfo mode binds no socket to a device:\n" + ss);
        traffic(40);
        assertEquals(new TreeMap<>(expectedPerTag(40)), perTag());
        // the two loopback connections came through no listen device
        assertEquals(2, (long) new Scrape(ns.curl(ns.srv, "http://127.0.0.1:" + port + "/status"))
                .sum("nginx_ipng_ifindex_misses_total", Map.of()));
        assertCountsMatchAccessLog();
        assertTags();
    }

    @Test
    void reloadsThatChangeDevicesModesAndRemoveTheModuleKeepEveryInterfaceServed() throws Exception {
        nginx.writeConfig(config("bind", LISTENS, true));
        nginx.start();
        ns.waitForPort(port);
        traffic(10);

        // device b leaves the configuration: its traffic becomes direct
        nginx.writeConfig(config("bind", """
            listen PORT device=ipngt-a ipng_source_tag=mg1;
            listen PORT;
            listen [::]:PORT device=ipngt-a ipng_source_tag=mg1;
            listen [::]:PORT;
            """, true));
        nginx.reload();
        assertEquals("tag=direct\n", ns.curl(ns.c2, "http://198.51.100.1:" + port + "/"));
        assertEquals("tag=mg1\n", ns.curl(ns.c1, "http://192.0.2.1:" + port + "/"));

        // and back, then to pktinfo mode
        nginx.writeConfig(config("bind", LISTENS, true));
        nginx.reload();
        traffic(10);
        assertTags();
        nginx.writeConfig(config("pktinfo", LISTENS, true));
        nginx.reload();
        assertFalse(ns.listeners().contains("%ipngt"), ns.listeners());
        assertTags();
        nginx.writeConfig(config("bind", LISTENS, true));
        nginx.reload();
        assertTags();
        assertCountsMatchAccessLog();

        // a configuration without the module: every interface still reaches nginx
        nginx.writeConfig(config("bind", "listen PORT;\nlisten [::]:PORT;", false));
        nginx.reload();
        assertFalse(ns.listeners().contains("%ipngt"), ns.listeners());
        assertEquals("plain\n", ns.curl(ns.c1, "http://192.0.2.1:" + port + "/"));
        assertEquals("plain\n", ns.curl(ns.c2, "http://198.51.100.1:" + port + "/"));
        assertEquals("plain\n", ns.curl(ns.c2, "http://[2001:db8:b::1]:" + port + "/"));
        assertEquals("plain\n", ns.curl(ns.srv, "http://127.0.0.1:" + port + "/"));
    }
}
