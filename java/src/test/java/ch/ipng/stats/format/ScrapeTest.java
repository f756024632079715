package ch.ipng.stats.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ScrapeTest {

    private static int negotiate(String accept) {
        return Scrape.negotiate(accept == null ? null : accept.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void acceptPicksTheFormat() {
        assertEquals(Scrape.FORMAT_TEXT, negotiate(null));
        assertEquals(Scrape.FORMAT_TEXT, negotiate(""));
        assertEquals(Scrape.FORMAT_TEXT, negotiate("*/*"));
        assertEquals(Scrape.FORMAT_TEXT, negotiate("text/plain;version=0.0.4"));
        assertEquals(Scrape.FORMAT_JSON, negotiate("application/json"));
        assertEquals(Scrape.FORMAT_JSON, negotiate("Application/JSON; charset=utf-8"));
        assertEquals(Scrape.FORMAT_JSON, negotiate("text/html, application/json;q=0.9"));
        assertEquals(Scrape.FORMAT_JSON, negotiate("application/openmetrics-text, application/json"));
        assertEquals(Scrape.FORMAT_TEXT, negotiate("application/json-seq"));
        assertEquals(Scrape.FORMAT_OPENMETRICS, negotiate("application/openmetrics-text"));
        assertEquals(Scrape.FORMAT_OPENMETRICS, negotiate(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
        assertEquals(Scrape.FORMAT_OPENMETRICS, negotiate(" \tapplication/openmetrics-text ;version=garbage"));
    }

    @Test
    void garbageAcceptHeadersNeverThrow() {
        // TextFormat.chooseContentType(";") throws ArrayIndexOutOfBoundsException
        for (String a : new String[] {";", ";;;,,,", ",", ",;", " ", "\u00ff\u0000;", "application/json;;;"}) {
            Scrape.negotiate(a.getBytes(StandardCharsets.ISO_8859_1));
        }
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        assertEquals(Scrape.FORMAT_TEXT, Scrape.negotiate(all));
    }
}
