package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.TestEnv;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ipng_stats_logtail against a UDP receiver of our own on loopback: every
 * request gives exactly one line, across workers and reloads; every datagram
 * is whole lines, each ending in "\n"; if= filters before rendering; a full
 * buffer is sent at once; without a receiver nothing blocks or complains.
 */
class LogtailTest {

    private static final Pattern LINE =
            Pattern.compile("/t\\?c=(\\d+)&i=(\\d+) 200 direct 127\\.0\\.0\\.1 (\\d+)");

    private NginxInstance nginx;
    private int port;
    private int udpPort;
    private Receiver receiver;

    @BeforeEach
    void create() {
        nginx = NginxInstance.create(TestEnv.nginxBin(), 2);
        port = nginx.port(0);
        udpPort = nginx.port(1);
    }

    @AfterEach
    void close() {
        if (receiver != null) {
            receiver.close();
        }
        nginx.close();
    }

    private void start(String logtailParams) {
        nginx.writeConfig("""
            %s
            http {
                ipng_stats_zone ipng:1m;
                ipng_stats_classpath %s;
                ipng_stats_flush_interval 100ms;
                access_log off;
                log_format lt '$request_uri $status $ipng_source_tag $server_addr $pid';
                map $arg_c $lt_keep { 0 0; 9 ""; default 1; }
                ipng_stats_logtail lt udp://127.0.0.1:%d %s;
                server {
                    listen 127.0.0.1:%d reuseport;
                    location /t { return 200 "ok\\n"; }
                    location /status { ipng_stats; }
                }
            }
            """.formatted(NginxConf.head("info"), TestEnv.jar(), udpPort, logtailParams, port));
        nginx.start();
    }

    private List<String> urls(int client, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add("http://127.0.0.1:" + port + "/t?c=" + client + "&i=" + i);
        }
        return out;
    }

    /** Clients 1..clients at once, n requests each; odd clients open a connection per request. */
    private void traffic(int firstClient, int clients, int n) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<List<Integer>>> jobs = new ArrayList<>();
            for (int c = firstClient; c < firstClient + clients; c++) {
                List<String> u = urls(c, n);
                jobs.add(c % 2 == 1
                        ? pool.submit(() -> Traffic.get(u, "-H", "Connection: close"))
                        : pool.submit(() -> Traffic.get(u)));
            }
            for (Future<List<Integer>> f : jobs) {
                assertTrue(f.get().stream().allMatch(s -> s == 200), "every request answered 200");
            }
        } finally {
            pool.shutdown();
        }
    }

    /** Lines by "c/i", each with the pid that logged it; fails on a line seen twice. */
    private static Map<String, Long> byRequest(List<String> lines) {
        Map<String, Long> out = new HashMap<>();
        for (String line : lines) {
            Matcher m = LINE.matcher(line);
            assertTrue(m.matches(), "unexpected line: " + line);
            Long old = out.put(m.group(1) + "/" + m.group(2), Long.parseLong(m.group(3)));
            assertEquals(null, old, "line twice: " + line);
        }
        return out;
    }

    private static void assertExactly(Map<String, Long> got, int firstClient, int clients, int n) {
        assertEquals(clients * n, got.size(), "one line per request");
        for (int c = firstClient; c < firstClient + clients; c++) {
            for (int i = 0; i < n; i++) {
                assertTrue(got.containsKey(c + "/" + i), "line of request c=" + c + " i=" + i);
            }
        }
    }

    @Test
    void everyRequestGivesExactlyOneLineAcrossWorkers() throws Exception {
        receiver = new Receiver(udpPort);
        start("flush=100ms");
        traffic(1, 4, 150);
        receiver.awaitLines(600, 10_000);
        Thread.sleep(500); // nothing more may come
        Map<String, Long> got = byRequest(receiver.lines());
        assertExactly(got, 1, 4, 150);
        assertTrue(new HashSet<>(got.values()).size() >= 2, "both workers logged: " + new HashSet<>(got.values()));
        receiver.assertWholeLines(65507);
    }

    @Test
    void oldWorkersSendTheirLinesWhenTheyExitOnReload() throws Exception {
        receiver = new Receiver(udpPort);
        start("flush=10s"); // only the buffer or the exit can send within this test
        traffic(1, 2, 60);
        Thread.sleep(300);
        assertEquals(0, receiver.lines().size(), "120 short lines stay in the 64k buffers");
        nginx.reload();
        traffic(3, 2, 60);
        nginx.reload();
        traffic(5, 2, 60);
        receiver.awaitLines(240, 10_000);
        nginx.quit();
        receiver.awaitLines(360, 10_000);
        Thread.sleep(300);
        Map<String, Long> got = byRequest(receiver.lines());
        assertExactly(got, 1, 6, 60);
        assertTrue(new HashSet<>(got.values()).size() >= 3, "three generations of workers logged");
        receiver.assertWholeLines(65507);
    }

    @Test
    void ifDropsTheLineButTheRequestIsCounted() throws Exception {
        receiver = new Receiver(udpPort);
        start("flush=100ms if=$lt_keep");
        traffic(0, 3, 40);  // c=0: "0", suppressed; c=1, c=2: logged
        Traffic.get(urls(9, 40)); // c=9: "", suppressed
        receiver.awaitLines(80, 10_000);
        Thread.sleep(500);
        Map<String, Long> got = byRequest(receiver.lines());
        assertExactly(got, 1, 2, 40);
        Thread.sleep(300); // every worker has flushed its counters
        Scrape s = new Scrape(Traffic.fetch("http://127.0.0.1:" + port + "/status"));
        assertEquals(160, (long) s.sum("nginx_ipng_requests_total", Map.of("code", "200")),
                "suppressed requests are counted");
    }

    @Test
    void aFullBufferIsSentAtOnceAsDatagramsOfWholeLines() throws Exception {
        receiver = new Receiver(udpPort);
        start("buffer=1k flush=10s");
        traffic(2, 1, 300); // one keep-alive connection: one worker
        // about 50 bytes a line, 20 lines a datagram: all but the last are sent now
        receiver.awaitLines(250, 5_000);
        assertTrue(receiver.datagrams() >= 8, receiver.datagrams() + " datagrams");
        receiver.assertWholeLines(1024);
        nginx.quit();
        receiver.awaitLines(300, 5_000);
        Thread.sleep(300);
        assertExactly(byRequest(receiver.lines()), 2, 1, 300);
        receiver.assertWholeLines(1024);
    }

    @Test
    void withoutAReceiverNothingBlocksAndNothingComplains() throws Exception {
        start("buffer=1k flush=100ms"); // nobody listens on udpPort
        long t0 = System.nanoTime();
        traffic(1, 4, 150);
        Thread.sleep(500);
        long ms = nginx.quit();
        assertTrue(ms < 10_000, "quit took " + ms + " ms");
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 60_000, "traffic took too long");
        String log = nginx.errorLog();
        assertFalse(log.contains("[error]"), nginx.errorLogTail(20));
        assertFalse(log.contains("[alert]"), nginx.errorLogTail(20));
        assertFalse(log.contains("ipng_stats_logtail"), nginx.errorLogTail(20));
    }

    /** A UDP receiver on 127.0.0.1 that keeps every datagram it gets. */
    private static final class Receiver implements AutoCloseable {

        private final DatagramSocket socket;
        private final Thread thread;
        private final List<byte[]> grams = new ArrayList<>();
        private volatile boolean closed;

        Receiver(int port) throws IOException {
            socket = new DatagramSocket(null);
            socket.setReceiveBufferSize(4 << 20);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            socket.setSoTimeout(100);
            thread = new Thread(this::run, "logtail-receiver");
            thread.setDaemon(true);
            thread.start();
        }

        private void run() {
            byte[] buf = new byte[70_000];
            while (!closed) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                } catch (SocketTimeoutException e) {
                    continue;
                } catch (IOException e) {
                    return;
                }
                byte[] copy = new byte[p.getLength()];
                System.arraycopy(p.getData(), p.getOffset(), copy, 0, copy.length);
                synchronized (grams) {
                    grams.add(copy);
                }
            }
        }

        int datagrams() {
            synchronized (grams) {
                return grams.size();
            }
        }

        List<String> lines() {
            List<String> out = new ArrayList<>();
            synchronized (grams) {
                for (byte[] g : grams) {
                    String text = new String(g, StandardCharsets.UTF_8);
                    for (String line : text.split("\n", -1)) {
                        if (!line.isEmpty()) {
                            out.add(line);
                        }
                    }
                }
            }
            return out;
        }

        void awaitLines(int n, long timeoutMs) throws InterruptedException {
            long end = System.currentTimeMillis() + timeoutMs;
            while (lines().size() < n && System.currentTimeMillis() < end) {
                Thread.sleep(50);
            }
            assertTrue(lines().size() >= n, "received " + lines().size() + " of " + n + " lines");
        }

        /** Every datagram: at most max bytes, ends with "\n", only lines of the expected shape. */
        void assertWholeLines(int max) {
            synchronized (grams) {
                assertFalse(grams.isEmpty(), "no datagram");
                for (byte[] g : grams) {
                    assertTrue(g.length <= max, "datagram of " + g.length + " bytes > " + max);
                    assertEquals('\n', g[g.length - 1], "datagram ends with a newline");
                    String text = new String(g, 0, g.length - 1, StandardCharsets.UTF_8);
                    for (String line : text.split("\n", -1)) {
                        assertTrue(LINE.matcher(line).matches(), "a whole line: '" + line + "'");
                    }
                }
            }
        }

        @Override
        public void close() {
            closed = true;
            socket.close();
            try {
                thread.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
