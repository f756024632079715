package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.ProcessResult;
import ch.ipng.stats.nginxtest.Processes;
import ch.ipng.stats.nginxtest.TestEnv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The module arranges listening sockets per device in the master; nothing
 * it does may change the running sockets unless a new configuration is
 * committed: a reload that fails (after the module bound its new sockets)
 * leaves every socket, its device and the tags of its traffic as they were,
 * and a second nginx started by mistake fails on bind() as stock nginx does.
 */
class SocketSafetyTest {

    private Namespaces ns;
    private NginxInstance nginx;
    private int port;

    @BeforeEach
    void setUp() throws Exception {
        ns = Namespaces.create();
        nginx = NginxInstance.create(ns.nginxBin(), 3).waitForPort(false);
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

    /** {@code buckets} changes the zone's layout: a reload with other buckets fails at the zone. */
    private String config(String listens, String buckets) {
        return NginxConf.head("info") + """
            http {
                ipng_stats_zone ipng:1m;
                ipng_stats_classpath %s;
                ipng_stats_buckets %s;
                server {
                    %s
                    location / { return 200 "tag=$ipng_source_tag\\n"; }
                }
            }
            """.formatted(TestEnv.jar(), buckets, listens.replace("PORT", Integer.toString(port)));
    }

    private static final String BUCKETS = "10 100 1000";

    /** Device a tagged mg1, device b, plain; the same on IPv6. */
    private static final String RUNNING = """
        listen PORT device=ipngt-a ipng_source_tag=mg1;
        listen PORT device=ipngt-b;
        listen PORT;
        listen [::]:PORT device=ipngt-a ipng_source_tag=mg1;
        listen [::]:PORT;
        """;

    /**
     * What a reload would have to change: device b leaves port PORT (its old
     * socket would be moved to another device), a plain [::] socket gains
     * device b (a new socket beside the old ones), and a new port with a
     * device (new sockets on a free address).
     */
    private static final String CHANGED = """
        listen PORT device=ipngt-a ipng_source_tag=mg1;
        listen PORT;
        listen [::]:PORT device=ipngt-a ipng_source_tag=mg1;
        listen [::]:PORT device=ipngt-b;
        listen [::]:PORT;
        listen PORT1 device=ipngt-b;
        listen PORT1;
        """;

    private String changed() {
        return CHANGED.replace("PORT1", Integer.toString(nginx.port(1)));
    }

    /** Every TCP listener in the server namespace with its device: "0.0.0.0%ipngt-a:8080". */
    private Set<String> sockets() {
        return ns.listeners().lines()
            .filter(l -> l.startsWith("LISTEN"))
            .map(l -> l.trim().split("\\s+")[3])
            .collect(Collectors.toCollection(TreeSet::new));
    }

    private void assertServedAsBefore() {
        for (int i = 0; i < 4; i++) {
            assertEquals("tag=mg1\n", ns.curl(ns.c1, "http://192.0.2.1:" + port + "/"));
            assertEquals("tag=ipngt-b\n", ns.curl(ns.c2, "http://198.51.100.1:" + port + "/"));
            assertEquals("tag=mg1\n", ns.curl(ns.c1, "http://[2001:db8:a::1]:" + port + "/"));
            // the plain [::] socket asks the ingress device: b's tag on this port (from its IPv4 listen)
            assertEquals("tag=ipngt-b\n", ns.curl(ns.c2, "http://[2001:db8:b::1]:" + port + "/"));
            assertEquals("tag=direct\n", ns.curl(ns.srv, "http://127.0.0.1:" + port + "/"));
        }
    }

    /** The reload fails where nginx sets up the zones, after the module bound its new sockets. */
    @Test
    void aReloadFailingAtTheZoneLeavesEverySocketAsItWas() throws Exception {
        nginx.writeConfig(config(RUNNING, BUCKETS));
        nginx.start();
        ns.waitForPort(port);
        Set<String> before = sockets();
        assertServedAsBefore();

        nginx.writeConfig(config(changed(), "10 100 1000 5000"));
        assertReloadFails("holds histograms with other");

        assertEquals(before, sockets());
        assertServedAsBefore();
        assertCommittedReloadStillWorks();
    }

    /** The reload fails where nginx opens its own sockets: an address another program holds. */
    @Test
    void aReloadFailingAtNginxsOwnSocketsLeavesEverySocketAsItWas() throws Exception {
        nginx.writeConfig(config(RUNNING, BUCKETS));
        nginx.start();
        ns.waitForPort(port);
        Set<String> before = sockets();

        Process holder = holdPort(nginx.port(2));
        try {
            nginx.writeConfig(config(changed() + "listen 127.0.0.1:" + nginx.port(2) + ";", BUCKETS));
            assertReloadFails("bind() to 127.0.0.1:" + nginx.port(2) + " failed");
            Set<String> held = new TreeSet<>(before);
            held.add("127.0.0.1:" + nginx.port(2));
            assertEquals(held, sockets());
            assertServedAsBefore();
        } finally {
            holder.destroy();
            holder.waitFor(5, TimeUnit.SECONDS);
        }
        assertCommittedReloadStillWorks();
    }

    /** A second nginx on the same configuration fails on bind() and leaves the first one's sockets alone. */
    @Test
    void aSecondNginxOnTheSameAddressesFailsAndTouchesNothing() throws Exception {
        nginx.writeConfig(config(RUNNING, BUCKETS));
        nginx.start();
        ns.waitForPort(port);
        Set<String> before = sockets();

        try (NginxInstance second = NginxInstance.create(ns.nginxBin(), 1)) {
            second.writeConfig(config(RUNNING, BUCKETS));
            Path trace = second.prefix().resolve("listen.strace");
            ProcessResult r = Processes.run(List.of("strace", "-f", "-qq", "-yy", "-e", "trace=listen", "-o",
                trace.toString(), ns.nginxBin().toString(), "-p", second.prefix() + "/", "-c", "conf/nginx.conf"),
                second.prefix(), Duration.ofSeconds(30));
            assertFalse(r.ok(), r.toString());
            String log = second.errorLog() + r.output();
            assertTrue(log.contains("bind() to 0.0.0.0:" + port + " failed (98: Address already in use)"), log);
            // it never listened on TCP: no connection could land on its sockets
            List<String> listens = Files.readAllLines(trace);
            assertEquals(List.of(), listens.stream().filter(c -> c.contains("<TCP")).toList(),
                String.join("\n", listens));
            assertFalse(second.isRunning());
        }
        assertEquals(before, sockets());
        assertServedAsBefore();
    }

    private void assertReloadFails(String why) throws InterruptedException {
        long offset = nginx.errorLog().length();
        ProcessResult r = nginx.nginx("-s", "reload");
        assertTrue(r.ok(), r.toString());
        String fresh = "";
        for (int i = 0; i < 200 && !fresh.contains("[emerg]"); i++) {
            Thread.sleep(50);
            fresh = nginx.errorLog().substring((int) offset);
        }
        assertTrue(fresh.contains(why), fresh);
        Thread.sleep(300);   // the master has rolled back by the time it logs, but let it settle
    }

    private void assertCommittedReloadStillWorks() throws InterruptedException {
        nginx.writeConfig(config(changed(), BUCKETS));
        nginx.reload();
        // device b now listens on [::]:PORT only; the plain 0.0.0.0 socket asks the device
        assertEquals("tag=ipngt-b\n", ns.curl(ns.c2, "http://198.51.100.1:" + port + "/"));
        assertEquals("tag=ipngt-b\n", ns.curl(ns.c2, "http://[2001:db8:b::1]:" + port + "/"));
        assertEquals("tag=ipngt-b\n", ns.curl(ns.c2, "http://198.51.100.1:" + nginx.port(1) + "/"));
        assertEquals("tag=mg1\n", ns.curl(ns.c1, "http://192.0.2.1:" + port + "/"));
        assertTrue(sockets().contains("0.0.0.0%ipngt-b:" + nginx.port(1)), sockets().toString());
        assertFalse(sockets().contains("0.0.0.0%ipngt-b:" + port), sockets().toString());
        assertTrue(sockets().contains("[::]%ipngt-b:" + port), sockets().toString());
    }

    /** A listener of another program in the server namespace. */
    private Process holdPort(int p) throws Exception {
        Process holder = new ProcessBuilder("ip", "netns", "exec", ns.srv, "python3", "-c",
            "import socket,sys,time\n"
                + "s=socket.socket(); s.bind(('127.0.0.1'," + p + ")); s.listen()\n"
                + "print('ready', flush=True); time.sleep(120)")
            .redirectErrorStream(true).start();
        String line = new String(holder.getInputStream().readNBytes(6));
        assertEquals("ready\n", line, "the port holder did not start");
        return holder;
    }
}
