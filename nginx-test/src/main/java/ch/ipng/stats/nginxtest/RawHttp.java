package ch.ipng.stats.nginxtest;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A minimal HTTP/1.1 client over a raw socket: exactly the bytes the test
 * asks for, one connection per call or many requests on one keep-alive
 * connection. Reads bodies by Content-Length, chunked encoding, or to EOF.
 *
 * <pre>{@code
 * Response r = RawHttp.send(port, Request.get("/t"));
 * List<Response> rs = RawHttp.sendAll(port, List.of(Request.get("/a"), Request.get("/b")));
 * try (RawHttp.Connection c = RawHttp.open(port)) {
 *     c.exchange(Request.get("/a").header("Connection", "keep-alive"));
 * }
 * }</pre>
 */
public final class RawHttp {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private RawHttp() {
    }

    /** One request on its own connection (adds Host: localhost, Connection: close). */
    public static Response send(int port, Request request) {
        return send(port, request, DEFAULT_TIMEOUT);
    }

    public static Response send(int port, Request request, Duration timeout) {
        try (Connection c = open(port, timeout)) {
            return c.exchange(request.withDefault("Connection", "close"));
        }
    }

    /**
     * Several requests one after the other on ONE keep-alive connection:
     * each is sent after the previous response was read. All but the last
     * carry Connection: keep-alive, the last Connection: close (unless the
     * request sets Connection itself).
     */
    public static List<Response> sendAll(int port, List<Request> requests) {
        return sendAll(port, requests, DEFAULT_TIMEOUT);
    }

    public static List<Response> sendAll(int port, List<Request> requests, Duration timeout) {
        List<Response> out = new ArrayList<>();
        try (Connection c = open(port, timeout)) {
            for (int i = 0; i < requests.size(); i++) {
                out.add(c.exchange(keepAliveUnlessLast(requests, i)));
            }
        }
        return out;
    }

    /**
     * Pipelining: writes all requests in one go on ONE connection, then reads
     * the responses in order. Connection headers as in {@link #sendAll}.
     */
    public static List<Response> pipeline(int port, List<Request> requests) {
        return pipeline(port, requests, DEFAULT_TIMEOUT);
    }

    public static List<Response> pipeline(int port, List<Request> requests, Duration timeout) {
        List<Response> out = new ArrayList<>();
        try (Connection c = open(port, timeout)) {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (int i = 0; i < requests.size(); i++) {
                all.writeBytes(keepAliveUnlessLast(requests, i).toBytes());
            }
            c.writeRaw(all.toByteArray());
            for (Request r : requests) {
                out.add(c.read(r.method()));
            }
        }
        return out;
    }

    private static Request keepAliveUnlessLast(List<Request> rs, int i) {
        return rs.get(i).withDefault("Connection", i == rs.size() - 1 ? "close" : "keep-alive");
    }

    public static Connection open(int port) {
        return open(port, DEFAULT_TIMEOUT);
    }

    /** A connection to 127.0.0.1:port; {@code timeout} bounds connect and every read. */
    public static Connection open(int port, Duration timeout) {
        Socket s = new Socket();
        try {
            s.setSoTimeout((int) timeout.toMillis());
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
                    (int) timeout.toMillis());
            return new Connection(s);
        } catch (IOException e) {
            try {
                s.close();
            } catch (IOException ignored) {
                // nothing to add
            }
            throw new UncheckedIOException("cannot connect to 127.0.0.1:" + port, e);
        }
    }

    /** One client connection; not thread-safe. */
    public static final class Connection implements AutoCloseable {

        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        private Connection(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        /** Sends a request (Host: localhost added if absent) and reads its response. */
        public Response exchange(Request request) {
            write(request);
            return read(request.method());
        }

        public void write(Request request) {
            writeRaw(request.toBytes());
        }

        /** Writes bytes as they are (for malformed or hand-made requests). */
        public void writeRaw(byte[] bytes) {
            try {
                out.write(bytes);
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("write failed", e);
            }
        }

        /** Reads one response to a request with this method (HEAD has no body). */
        public Response read(String method) {
            try {
                return readResponse(in, method);
            } catch (IOException e) {
                throw new UncheckedIOException("reading the response to " + method + " failed", e);
            }
        }

        /** True when the server has closed the connection (reads EOF within 1 s). */
        public boolean closedByPeer() {
            try {
                int old = socket.getSoTimeout();
                socket.setSoTimeout(1000);
                try {
                    return in.read() < 0;
                } finally {
                    socket.setSoTimeout(old);
                }
            } catch (IOException e) {
                return false;
            }
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    // ------------------------------------------------------------- request

    /** A request to send; the methods return a changed copy. */
    public record Request(String method, String uri, String protocol, List<String[]> headerList,
            byte[] body) {

        public Request {
            headerList = List.copyOf(headerList);
            body = body == null ? new byte[0] : body;
        }

        public Request(String method, String uri) {
            this(method, uri, "HTTP/1.1", List.of(), null);
        }

        public static Request get(String uri) {
            return new Request("GET", uri);
        }

        public Request header(String name, String value) {
            List<String[]> h = new ArrayList<>(headerList);
            h.add(new String[] {name, value});
            return new Request(method, uri, protocol, h, body);
        }

        /** Adds the header unless the request already has one of that name. */
        public Request withDefault(String name, String value) {
            return hasHeader(name) ? this : header(name, value);
        }

        public boolean hasHeader(String name) {
            return headerList.stream().anyMatch(h -> h[0].equalsIgnoreCase(name));
        }

        public Request body(byte[] b) {
            return new Request(method, uri, protocol, headerList, b);
        }

        public Request body(String s) {
            return body(s.getBytes(StandardCharsets.UTF_8));
        }

        public Request protocol(String p) {
            return new Request(method, uri, p, headerList, body);
        }

        /**
         * The bytes on the wire. Adds Host: localhost and, for a body or a
         * POST/PUT, Content-Length, unless given.
         */
        public byte[] toBytes() {
            StringBuilder sb = new StringBuilder();
            sb.append(method).append(' ').append(uri);
            if (!protocol.isEmpty()) {
                sb.append(' ').append(protocol);
            }
            sb.append("\r\n");
            if (!hasHeader("Host") && !protocol.equals("HTTP/1.0")) {
                sb.append("Host: localhost\r\n");
            }
            for (String[] h : headerList) {
                sb.append(h[0]).append(": ").append(h[1]).append("\r\n");
            }
            boolean wantsLength = body.length > 0 || method.equals("POST") || method.equals("PUT");
            if (wantsLength && !hasHeader("Content-Length") && !hasHeader("Transfer-Encoding")) {
                sb.append("Content-Length: ").append(body.length).append("\r\n");
            }
            sb.append("\r\n");
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
            b.writeBytes(body);
            return b.toByteArray();
        }

        @Override
        public String toString() {
            return method + " " + uri;
        }
    }

    // ------------------------------------------------------------ response

    /** A response: status, case-insensitive headers, body bytes. */
    public record Response(String protocol, int status, String reason,
            Map<String, List<String>> headers, byte[] body) {

        public Response {
            TreeMap<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            headers.forEach((k, v) -> h.put(k, List.copyOf(v)));
            headers = Collections.unmodifiableMap(h);
        }

        /** The first value of a header, or null. */
        public String header(String name) {
            List<String> v = headers.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        /** All values of a header (empty when absent). */
        public List<String> headers(String name) {
            return headers.getOrDefault(name, List.of());
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(protocol + " " + status + " " + reason + "\n");
            headers.forEach((k, vs) -> vs.forEach(v -> sb.append(k).append(": ").append(v).append('\n')));
            String text = bodyText();
            sb.append('\n').append(text.length() > 2000 ? text.substring(0, 2000) + "..." : text);
            return sb.toString();
        }
    }

    // ------------------------------------------------------------- parsing

    static Response readResponse(InputStream in, String method) throws IOException {
        while (true) {
            String statusLine = readLine(in);
            if (statusLine == null) {
                throw new EOFException("connection closed before a response");
            }
            String[] sl = statusLine.split(" ", 3);
            if (sl.length < 2 || !sl[0].startsWith("HTTP/")) {
                throw new IOException("bad status line: " + statusLine);
            }
            int status = Integer.parseInt(sl[1]);
            Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            String line;
            while ((line = readLine(in)) != null && !line.isEmpty()) {
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new IOException("bad header line: " + line);
                }
                headers.computeIfAbsent(line.substring(0, colon).trim(), k -> new ArrayList<>())
                        .add(line.substring(colon + 1).trim());
            }
            if (status >= 100 && status < 200 && status != 101) {
                continue; // 100 Continue and friends: the real response follows
            }
            byte[] body;
            List<String> te = headers.get("Transfer-Encoding");
            List<String> cl = headers.get("Content-Length");
            if (method.equalsIgnoreCase("HEAD") || status == 204 || status == 304 || status < 200) {
                body = new byte[0];
            } else if (te != null && String.join(",", te).toLowerCase(Locale.ROOT).contains("chunked")) {
                body = readChunked(in);
            } else if (cl != null) {
                body = in.readNBytes(Integer.parseInt(cl.get(0)));
                if (body.length < Integer.parseInt(cl.get(0))) {
                    throw new EOFException("body shorter than Content-Length " + cl.get(0)
                            + " (got " + body.length + ")");
                }
            } else {
                body = in.readAllBytes();
            }
            return new Response(sl[0], status, sl.length > 2 ? sl[2] : "", headers, body);
        }
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = readLine(in);
            if (sizeLine == null) {
                throw new EOFException("connection closed inside a chunked body");
            }
            int semi = sizeLine.indexOf(';');
            int size = Integer.parseInt((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
            if (size == 0) {
                String trailer;
                while ((trailer = readLine(in)) != null && !trailer.isEmpty()) {
                    // trailers are ignored
                }
                return out.toByteArray();
            }
            byte[] chunk = in.readNBytes(size);
            if (chunk.length < size) {
                throw new EOFException("connection closed inside a chunk");
            }
            out.writeBytes(chunk);
            String crlf = readLine(in);
            if (crlf == null || !crlf.isEmpty()) {
                throw new IOException("no CRLF after a chunk");
            }
        }
    }

    /** A line without its CRLF (or LF); null at EOF before any byte. */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                byte[] bytes = b.toByteArray();
                int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
    }
}
