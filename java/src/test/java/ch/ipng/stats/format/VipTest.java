package ch.ipng.stats.format;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class VipTest {

    private static String canonical(String literal) {
        Vip v = Vip.parse(literal);
        assertNotNull(v, literal);
        return Vip.text(v.family, v.hi, v.lo);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "2001:db8:0:0:0:0:0:1, 2001:db8::1",
        "2001:0DB8:0000:0000:0000:0000:0000:0001, 2001:db8::1",
        "2001:db8::0:1, 2001:db8::1",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
        "0:0:0:0:0:0:0:0, ::",
        "0:0:0:0:0:0:0:1, ::1",
        "1:0:0:0:0:0:0:0, 1::",
        "fe80:0:0:0:0:0:0:0, fe80::",
        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1, 2001:db8:aaaa:bbbb:cccc:dddd:eeee:1",
        "2001:db8:0:0:1:0:0:0, 2001:db8:0:0:1::",
        "[2001:db8::1], 2001:db8::1",
        "::ffff:192.0.2.1, 192.0.2.1",
        "0:0:0:0:0:ffff:c000:0201, 192.0.2.1",
        "64:ff9b::192.0.2.33, 64:ff9b::c000:221",
        "192.0.2.10, 192.0.2.10",
        "0.0.0.0, 0.0.0.0",
        "255.255.255.255, 255.255.255.255",
        "unix, unix",
    })
    void rendersRfc5952Canonical(String literal, String expected) {
        assertEquals(expected, canonical(literal));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "localhost", "example.com", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4",
        "1.2.3.4 ", " 1.2.3.4", "1..2.3", "::1::", "1:::2", "12345::", "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7", ":1::", "1::2:", "fe80::1%eth0", "[::1", "::1]", "g::1", "::ffff:1.2.3.256",
        "1:2:3:4:5:6:7:1.2.3.4", "UNIX", "\u0661.2.3.4", "٠::1"})
    void rejectsAnythingThatIsNotALiteral(String text) {
        assertNull(Vip.parse(text), text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"1:2:3:4:5:6:1.2.3.4", "::1.2.3.4", "1::", "::", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8"})
    void acceptsEveryIpv6Form(String text) {
        assertNotNull(Vip.parse(text), text);
    }
}
