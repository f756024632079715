package ch.ipng.stats.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.zone.SharedZone;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** Scrape answers compressed for clients that send Accept-Encoding: gzip. */
class GzipTest {

    private static boolean gzip(String acceptEncoding) {
        return Scrape.acceptsGzip(acceptEncoding == null ? null : acceptEncoding.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void acceptEncodingDecides() {
        // what Prometheus, curl --compressed and browsers send
        assertTrue(gzip("gzip"));
        assertTrue(gzip("deflate, gzip"));
        assertTrue(gzip("gzip, deflate, br, zstd"));
        assertTrue(gzip(" GZip ;q=1.0"));
        assertTrue(gzip("x-gzip"));
        assertTrue(gzip("gzip;q=0.001"));
        assertTrue(gzip("*"));
        assertTrue(gzip("identity;q=1, *;q=0.5"));
        // refused, or not asked for
        assertFalse(gzip(null));
        assertFalse(gzip(""));
        assertFalse(gzip("identity"));
        assertFalse(gzip("deflate, br"));
        assertFalse(gzip("gzip;q=0"));
        assertFalse(gzip("gzip; q=0.000"));
        assertFalse(gzip("gzip;q=0, *"));
        assertFalse(gzip("*;q=0"));
        assertFalse(gzip("gzipx, xgzip, gzi"));
        // the first gzip coding decides
        assertTrue(gzip("gzip;q=0.5, gzip;q=0"));
        assertFalse(gzip("gzip;q=0, gzip"));
        // weights that are not qvalues refuse
        assertFalse(gzip("gzip;q=2"));
        assertFalse(gzip("gzip;q=1.5"));
        assertFalse(gzip("gzip;q=0.5000"));
        assertFalse(gzip("gzip;q="));
        assertFalse(gzip("gzip;q=abc"));
        assertFalse(gzip("gzip;q=-1"));
        // other parameters do not matter
        assertTrue(gzip("gzip;level=9"));
        assertFalse(gzip("gzip;level=9;q=0"));
    }

    @Test
    void garbageNeverThrows() {
        for (String h : new String[] {";", ",", ";;;,,,", "gzip;", "gzip;;q", "q=0;gzip", "\u00ff\u0000;"}) {
            Scrape.acceptsGzip(h.getBytes(StandardCharsets.ISO_8859_1));
        }
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        assertFalse(Scrape.acceptsGzip(all));
    }

    /** What C receives: every chunk the render hands over, appended. */
    private static final class Collector implements ByteSink.Overflow {
        final ByteArrayOutputStream got = new ByteArrayOutputStream();

        @Override
        public void take(byte[] b, int len) {
            got.write(b, 0, len);
        }
    }

    private static int headEnd(byte[] answer) {
        for (int i = 0; i < answer.length; i++) {
            if (answer[i] == '\n') {
                return i;
            }
        }
        throw new AssertionError("no head line");
    }

    private static byte[] gunzip(byte[] b, int from) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(b, from, b.length - from))) {
            return in.readAllBytes();
        }
    }

    @Test
    void aCompressedAnswerIsThePlainOneGzipped() throws IOException {
        SharedZone z = PrometheusFormatTest.smallZone();
        for (String accept : new String[] {null, "application/openmetrics-text", "application/json"}) {
            byte[] a = accept == null ? null : accept.getBytes(StandardCharsets.US_ASCII);
            byte[] plain = Scrape.render(z, PrometheusFormatTest.BUILD, null, a);
            int ph = headEnd(plain);
            // chunk sizes around the gzip header and trailer, and the module's
            for (int chunk : new int[] {16, 17, 18, 19, 25, 26, 64, 1000, 1 << 16}) {
                Collector c = new Collector();
                ByteSink out = new ByteSink(chunk).overflowTo(c);
                Scrape.render(out, z, PrometheusFormatTest.BUILD, null, a, "gzip".getBytes(StandardCharsets.US_ASCII));
                long length = out.finish();
                byte[] answer = c.got.toByteArray();
                assertEquals(answer.length, length, "chunk " + chunk);
                int h = headEnd(answer);
                assertEquals(new String(plain, 0, ph, StandardCharsets.US_ASCII) + "\tgzip",
                    new String(answer, 0, h, StandardCharsets.US_ASCII));
                assertArrayEquals(Arrays.copyOfRange(plain, ph + 1, plain.length), gunzip(answer, h + 1),
                    accept + ", chunk " + chunk);
            }
        }
    }

    @Test
    void withoutAcceptEncodingOrWithoutChunksTheAnswerStaysPlain() throws IOException {
        SharedZone z = PrometheusFormatTest.smallZone();
        byte[] plain = Scrape.render(z, PrometheusFormatTest.BUILD, null, null);
        Collector c = new Collector();
        ByteSink out = new ByteSink(64).overflowTo(c);
        Scrape.render(out, z, PrometheusFormatTest.BUILD, null, null, "identity".getBytes(StandardCharsets.US_ASCII));
        assertEquals(plain.length, out.finish());
        assertArrayEquals(plain, c.got.toByteArray());
        // no Overflow (tools, tests): nothing to compress into, plain
        ByteSink whole = new ByteSink(64);
        Scrape.render(whole, z, PrometheusFormatTest.BUILD, null, null, "gzip".getBytes(StandardCharsets.US_ASCII));
        assertArrayEquals(plain, whole.toByteArray());
    }

    @Test
    void aRenderThatFailsHalfWayLeavesNoCompressionBehind() throws IOException {
        SharedZone z = PrometheusFormatTest.smallZone();
        ByteSink out = new ByteSink(32);
        int[] calls = {0};
        out.overflowTo((b, len) -> {
            if (++calls[0] == 2) {            // the head went, the first compressed chunk fails
                throw new IllegalStateException("no memory for the answer");
            }
        });
        assertThrows(IllegalStateException.class, () -> {
            Scrape.render(out, z, PrometheusFormatTest.BUILD, null, null, "gzip".getBytes(StandardCharsets.US_ASCII));
            out.finish();
        });
        // the next scrape, plain, goes straight to its own Overflow
        Collector c = new Collector();
        out.overflowTo(c);
        Scrape.render(out, z, PrometheusFormatTest.BUILD, null, null, null);
        out.finish();
        assertArrayEquals(Scrape.render(z, PrometheusFormatTest.BUILD, null, null), c.got.toByteArray());
    }
}
