package ch.ipng.stats.scenario;

import ch.ipng.stats.nginxtest.TestEnv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * A server namespace with two veth links to two client namespaces, made and
 * removed by the test. Addresses exist only inside these namespaces
 * (documentation ranges), so no traffic leaves them.
 *
 * <pre>
 *   (nginx is {@link TestEnv#nginxBin()}, run inside the server namespace)
 *
 *   client ns c1  eth0 192.0.2.2  2001:db8:a::2  ──veth──  srv: {@link #DEV_A} 192.0.2.1  2001:db8:a::1
 *   client ns c2  eth0 198.51.100.2 2001:db8:b::2 ──veth──  srv: {@link #DEV_B} 198.51.100.1 2001:db8:b::1
 * </pre>
 */
final class Namespaces implements AutoCloseable {

    static final String DEV_A = "ipngt-a";
    static final String DEV_B = "ipngt-b";

    final String srv;
    final String c1;
    final String c2;
    private final Path wrapper;

    private Namespaces(String tag) throws IOException {
        srv = "ipngt-srv-" + tag;
        c1 = "ipngt-c1-" + tag;
        c2 = "ipngt-c2-" + tag;
        wrapper = Files.createTempFile("nginx-in-" + srv, ".sh");
    }

    /** Needs root: in CI a missing privilege is a failure, elsewhere the test is skipped. */
    static Namespaces create() throws IOException {
        Privileges.requireRoot("network-namespace tests");
        Namespaces ns = new Namespaces(Long.toString(ProcessHandle.current().pid()));
        try {
            ns.up();
        } catch (RuntimeException | Error e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    private void up() throws IOException {
        close();
        for (String n : List.of(srv, c1, c2)) {
            ip("netns", "add", n);
            ip("-n", n, "link", "set", "lo", "up");
        }
        link(DEV_A, c1, "192.0.2", "2001:db8:a::");
        link(DEV_B, c2, "198.51.100", "2001:db8:b::");
        Files.writeString(wrapper, "#!/bin/sh\nexec ip netns exec " + srv + " " + TestEnv.nginxBin() + " \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private void link(String dev, String client, String v4, String v6) {
        ip("link", "add", dev, "netns", srv, "type", "veth", "peer", "name", "eth0", "netns", client);
        ip("-n", srv, "addr", "add", v4 + ".1/24", "dev", dev);
        ip("-n", srv, "addr", "add", v6 + "1/64", "dev", dev, "nodad");
        ip("-n", client, "addr", "add", v4 + ".2/24", "dev", "eth0");
        ip("-n", client, "addr", "add", v6 + "2/64", "dev", "eth0", "nodad");
        ip("-n", srv, "link", "set", dev, "up");
        ip("-n", client, "link", "set", "eth0", "up");
    }

    /** A script that runs /usr/sbin/nginx inside the server namespace. */
    Path nginxBin() {
        return wrapper;
    }

    /** curl in a namespace; returns the body. */
    String curl(String ns, String url) {
        return Traffic.exec(List.of("ip", "netns", "exec", ns, "curl", "-sS", "-g", "--max-time", "10", url));
    }

    /** Many GETs on one keep-alive connection from a namespace; all must answer 200. */
    void load(String ns, String url, int n) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "curl", "-sS", "-g",
                "--max-time", "60"));
        for (int i = 0; i < n; i++) {
            cmd.addAll(List.of("-o", "/dev/null", "-w", "%{http_code}\\n", url + "?i=" + i));
        }
        String out = Traffic.exec(cmd);
        long ok = out.lines().filter(l -> l.equals("200")).count();
        if (ok != n) {
            throw new AssertionError(ns + " " + url + ": " + ok + " of " + n + " answered 200:\n" + out);
        }
    }

    /** Waits until the server namespace listens on {@code port}. */
    void waitForPort(int port) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            if (listeners().contains(":" + port + " ")) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("nothing listens on port " + port + " in " + srv + ":\n" + listeners());
    }

    String listeners() {
        return Traffic.exec(List.of("ip", "netns", "exec", srv, "ss", "-ltn"));
    }

    private static void ip(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Traffic.exec(cmd);
    }

    @Override
    public void close() throws IOException {
        for (String n : List.of(srv, c1, c2)) {
            try {
                new ProcessBuilder("ip", "netns", "del", n).redirectErrorStream(true).start().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Files.deleteIfExists(wrapper);
    }
}
