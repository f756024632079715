package ch.ipng.stats.nginxtest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * HTTP/2 requests through {@code /usr/bin/curl --http2-prior-knowledge}
 * (cleartext h2c, so the nginx listener needs the {@code http2} parameter).
 * Several requests in one call travel on ONE HTTP/2 connection.
 *
 * <pre>{@code
 * RawHttp.Response r = Curl.http2(port, RawHttp.Request.get("/t"));
 * List<RawHttp.Response> rs = Curl.http2(port, List.of(Request.get("/a"), Request.get("/b")), timeout);
 * }</pre>
 */
public final class Curl {

    public static final Path CURL = Path.of("/usr/bin/curl");

    private Curl() {
    }

    public static RawHttp.Response http2(int port, RawHttp.Request request) {
        return http2(port, List.of(request), RawHttp.DEFAULT_TIMEOUT).get(0);
    }

    /**
     * Sends the requests on one HTTP/2 connection, one after the other.
     * Each request's method, headers and body are used; the protocol is not.
     * All requests must have the same method and headers (curl applies them
     * to every URL of one invocation); a body is only allowed for one request.
     */
    public static List<RawHttp.Response> http2(int port, List<RawHttp.Request> requests,
            Duration timeout) {
        if (requests.isEmpty()) {
            return List.of();
        }
        if (!Files.isExecutable(CURL)) {
            throw new IllegalStateException(CURL + " is missing (apt-get install curl)");
        }
        RawHttp.Request first = requests.get(0);
        for (RawHttp.Request r : requests) {
            if (!r.method().equals(first.method()) || !sameHeaders(r, first)) {
                throw new IllegalArgumentException("all requests of one curl call need the same"
                        + " method and headers: " + r + " vs " + first);
            }
        }
        if (requests.size() > 1 && first.body().length > 0) {
            throw new IllegalArgumentException("a body is only supported for a single HTTP/2 request");
        }
        Path dir = null;
        try {
            dir = Files.createTempDirectory("ipng-curl-");
            List<String> cmd = new ArrayList<>(List.of(CURL.toString(), "-sS",
                    "--http2-prior-knowledge", "--max-time",
                    Double.toString(timeout.toMillis() / 1000.0), "-D", dir.resolve("h").toString()));
            if (first.method().equals("HEAD")) {
                cmd.add("--head");
            } else if (!first.method().equals("GET") || first.body().length > 0) {
                cmd.addAll(List.of("-X", first.method()));
            }
            for (String[] h : first.headerList()) {
                cmd.addAll(List.of("-H", h[0] + ": " + h[1]));
            }
            if (first.body().length > 0) {
                Files.write(dir.resolve("req"), first.body());
                cmd.addAll(List.of("--data-binary", "@" + dir.resolve("req")));
            }
            for (int i = 0; i < requests.size(); i++) {
                cmd.addAll(List.of("-o", dir.resolve("b" + i).toString(),
                        "http://127.0.0.1:" + port + requests.get(i).uri()));
            }
            ProcessResult pr = Processes.run(cmd, dir, timeout.plusSeconds(5));
            if (!pr.ok()) {
                throw new IllegalStateException("curl failed: " + pr + "\ncommand: " + cmd);
            }
            List<RawHttp.Response> heads = parseHeaders(
                    Files.readString(dir.resolve("h"), StandardCharsets.ISO_8859_1));
            if (heads.size() != requests.size()) {
                throw new IllegalStateException("curl returned " + heads.size() + " responses for "
                        + requests.size() + " requests");
            }
            List<RawHttp.Response> out = new ArrayList<>();
            for (int i = 0; i < heads.size(); i++) {
                RawHttp.Response h = heads.get(i);
                Path b = dir.resolve("b" + i);
                byte[] body = Files.exists(b) ? Files.readAllBytes(b) : new byte[0];
                out.add(new RawHttp.Response(h.protocol(), h.status(), h.reason(), h.headers(), body));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (dir != null) {
                try (var s = Files.walk(dir)) {
                    s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    private static boolean sameHeaders(RawHttp.Request a, RawHttp.Request b) {
        if (a.headerList().size() != b.headerList().size()) {
            return false;
        }
        for (int i = 0; i < a.headerList().size(); i++) {
            if (!a.headerList().get(i)[0].equals(b.headerList().get(i)[0])
                    || !a.headerList().get(i)[1].equals(b.headerList().get(i)[1])) {
                return false;
            }
        }
        return true;
    }

    /** Splits curl's -D dump into header blocks, dropping 1xx interim responses. */
    static List<RawHttp.Response> parseHeaders(String dump) {
        List<RawHttp.Response> out = new ArrayList<>();
        String protocol = null;
        int status = 0;
        String reason = "";
        Map<String, List<String>> headers = null;
        for (String raw : dump.split("\n")) {
            String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
            if (line.startsWith("HTTP/")) {
                String[] sl = line.split(" ", 3);
                protocol = sl[0];
                status = Integer.parseInt(sl[1].trim());
                reason = sl.length > 2 ? sl[2] : "";
                headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            } else if (line.isEmpty()) {
                if (headers != null && (status < 100 || status >= 200)) {
                    out.add(new RawHttp.Response(protocol, status, reason, headers, new byte[0]));
                }
                headers = null;
            } else if (headers != null) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    headers.computeIfAbsent(line.substring(0, colon).trim(), k -> new ArrayList<>())
                            .add(line.substring(colon + 1).trim());
                }
            }
        }
        if (headers != null && (status < 100 || status >= 200)) {
            out.add(new RawHttp.Response(protocol, status, reason, headers, new byte[0]));
        }
        return out;
    }
}
