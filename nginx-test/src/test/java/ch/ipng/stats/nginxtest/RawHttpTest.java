package ch.ipng.stats.nginxtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The response parser on canned bytes; the socket side runs against nginx in NginxInstanceTest. */
class RawHttpTest {

    private static RawHttp.Response parse(String wire, String method) throws IOException {
        return RawHttp.readResponse(new ByteArrayInputStream(wire.getBytes(StandardCharsets.ISO_8859_1)), method);
    }

    @Test
    void readsContentLengthBodyAndCaseInsensitiveHeaders() throws IOException {
        RawHttp.Response r = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhelloEXTRA", "GET");
        assertEquals(200, r.status());
        assertEquals("OK", r.reason());
        assertEquals("hello", r.bodyText());
        assertEquals(List.of("1", "2"), r.headers("X-A"));
        assertEquals("5", r.header("content-length"));
        assertNull(r.header("Nope"));
    }

    @Test
    void decodesChunkedWithExtensionsAndTrailers() throws IOException {
        RawHttp.Response r = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n", "GET");
        assertEquals("hello, world", r.bodyText());
    }

    @Test
    void headAnd204And304HaveNoBody() throws IOException {
        assertEquals(0, parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD").body().length);
        assertEquals(0, parse("HTTP/1.1 204 No Content\r\n\r\n", "GET").body().length);
        assertEquals(0, parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", "GET").body().length);
    }

    @Test
    void skipsInterimResponses() throws IOException {
        RawHttp.Response r = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", "POST");
        assertEquals(201, r.status());
        assertEquals("ok", r.bodyText());
    }

    @Test
    void readsToEofWithoutLength() throws IOException {
        assertEquals("all of it", parse("HTTP/1.0 200 OK\n\nall of it", "GET").bodyText());
    }

    @Test
    void shortBodyIsAnError() {
        assertThrows(EOFException.class, () -> parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", "GET"));
        assertThrows(EOFException.class, () -> parse("", "GET"));
    }

    @Test
    void requestBytesCarryHostAndContentLength() {
        byte[] b = new RawHttp.Request("POST", "/p").header("X-A", "1").body("abc").toBytes();
        assertArrayEquals("POST /p HTTP/1.1\r\nHost: localhost\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc"
                .getBytes(StandardCharsets.ISO_8859_1), b);
        String get = new String(RawHttp.Request.get("/").header("Host", "h").toBytes(), StandardCharsets.ISO_8859_1);
        assertEquals("GET / HTTP/1.1\r\nHost: h\r\n\r\n", get);
    }

    @Test
    void parsesCurlHeaderDumps() {
        List<RawHttp.Response> rs = Curl.parseHeaders("HTTP/2 200\r\ncontent-type: text/plain\r\n\r\n"
                + "HTTP/2 100\r\n\r\nHTTP/2 404\r\nserver: nginx\r\n\r\n");
        assertEquals(2, rs.size());
        assertEquals("text/plain", rs.get(0).header("Content-Type"));
        assertEquals(404, rs.get(1).status());
    }
}
