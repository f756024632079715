package ch.ipng.stats.format;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ScrapeFilterTest {

    private static ScrapeFilter parse(String query) {
        return ScrapeFilter.parse(query == null ? null : query.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static boolean vip(ScrapeFilter f, String literal) {
        Vip v = Vip.parse(literal);
        return f.matchesVip(v.family, v.hi, v.lo);
    }

    @Test
    void noQueryMatchesEverything() {
        for (String q : new String[] {null, "", "&", "foo=bar", "=", "source_tagx=1"}) {
            ScrapeFilter f = parse(q);
            assertTrue(f.matchesTag(utf8("mg1")), q);
            assertTrue(vip(f, "192.0.2.1"), q);
        }
    }

    @Test
    void sourceTagIsExactAndCaseSensitive() {
        ScrapeFilter f = parse("source_tag=mg1");
        assertTrue(f.matchesTag(utf8("mg1")));
        assertFalse(f.matchesTag(utf8("MG1")));
        assertFalse(f.matchesTag(utf8("mg10")));
    }

    @Test
    void decodesPercentEscapesAndPlus() {
        assertTrue(parse("source_tag=gre%2Dmg1").matchesTag(utf8("gre-mg1")));
        assertTrue(parse("source_tag=a+b").matchesTag(utf8("a b")));
        assertTrue(parse("source_tag=a%2Bb").matchesTag(utf8("a+b")));
        assertTrue(parse("source_tag=%C3%A9t%C3%A9").matchesTag(utf8("été")));
        assertTrue(parse("source_%74ag=x").matchesTag(utf8("x")));
        assertTrue(parse("source_tag=a%22b%5Cc").matchesTag(utf8("a\"b\\c")));
    }

    @Test
    void malformedEscapesStayLiteral() {
        assertTrue(parse("source_tag=100%").matchesTag(utf8("100%")));
        assertTrue(parse("source_tag=%zz").matchesTag(utf8("%zz")));
        assertTrue(parse("source_tag=%4").matchesTag(utf8("%4")));
        assertFalse(parse("source_tag=%ff%fe").matchesTag(utf8("\ufffd\ufffd")));
    }

    @Test
    void lastOccurrenceWins() {
        ScrapeFilter f = parse("source_tag=a&source_tag=b&vip=192.0.2.1&vip=192.0.2.2");
        assertFalse(f.matchesTag(utf8("a")));
        assertTrue(f.matchesTag(utf8("b")));
        assertFalse(vip(f, "192.0.2.1"));
        assertTrue(vip(f, "192.0.2.2"));
    }

    @Test
    void vipMatchesAnySpellingOfTheAddress() {
        ScrapeFilter f = parse("vip=2001%3A0db8%3A0%3A0%3A0%3A0%3A0%3A0001");
        assertTrue(vip(f, "2001:db8::1"));
        assertFalse(vip(f, "2001:db8::2"));
        assertTrue(vip(parse("vip=::ffff:192.0.2.1"), "192.0.2.1"));
        assertTrue(vip(parse("vip=%5B::1%5D"), "::1"));
        assertTrue(vip(parse("vip=unix"), "unix"));
    }

    @Test
    void unknownOrHostileValuesMatchNothingAndNeverThrow() {
        String[] hostile = {"vip=localhost", "vip=", "vip=%00", "vip=1.2.3.4%00", "vip=%zz",
            "vip=" + "1:".repeat(5000), "source_tag=&vip=::1", "vip=\u00ff\u00fe"};
        for (String q : hostile) {
            ScrapeFilter f = parse(q);
            assertFalse(vip(f, "192.0.2.1") && f.matchesTag(utf8("mg1")), q);
        }
        byte[] binary = new byte[256];
        for (int i = 0; i < 256; i++) {
            binary[i] = (byte) i;
        }
        assertDoesNotThrow(() -> ScrapeFilter.parse(binary));
    }

    @Test
    void filtersIntersect() {
        ScrapeFilter f = parse("source_tag=mg1&vip=192.0.2.1");
        assertTrue(f.matchesTag(utf8("mg1")) && vip(f, "192.0.2.1"));
        assertFalse(f.matchesTag(utf8("mg2")) && vip(f, "192.0.2.1"));
        assertFalse(f.matchesTag(utf8("mg1")) && vip(f, "192.0.2.2"));
    }
}
