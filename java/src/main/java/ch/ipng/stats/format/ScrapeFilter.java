package ch.ipng.stats.format;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The {@code ?source_tag=} and {@code ?vip=} filters, parsed from the raw
 * query string bytes. Both are exact matches and intersect.
 * <ul>
 * <li>Names and values are percent-decoded, {@code +} is a space. A
 *     malformed escape ({@code %zz}, a trailing {@code %}) is kept literally;
 *     nothing here throws.</li>
 * <li>A repeated parameter: the <b>last</b> occurrence wins.</li>
 * <li>{@code source_tag} compares the decoded bytes with the tag's UTF-8
 *     bytes (case-sensitive).</li>
 * <li>{@code vip} is parsed as an address literal ({@link Vip#parse}), so any
 *     spelling of the same address matches; a value that is not a literal
 *     matches nothing.</li>
 * <li>Other parameters are ignored.</li>
 * </ul>
 */
public final class ScrapeFilter {

    public static final ScrapeFilter NONE = new ScrapeFilter(null, false, null);

    private static final byte[] SOURCE_TAG = "source_tag".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VIP = "vip".getBytes(StandardCharsets.US_ASCII);

    private final byte[] sourceTag;
    private final boolean vipGiven;
    private final Vip vip;

    private ScrapeFilter(byte[] sourceTag, boolean vipGiven, Vip vip) {
        this.sourceTag = sourceTag;
        this.vipGiven = vipGiven;
        this.vip = vip;
    }

    /** Parses a raw query string (may be null or empty: no filter). */
    public static ScrapeFilter parse(byte[] query) {
        if (query == null || query.length == 0) {
            return NONE;
        }
        byte[] tag = null;
        byte[] vipText = null;
        int start = 0;
        while (start <= query.length) {
            int end = start;
            while (end < query.length && query[end] != '&') {
                end++;
            }
            int eq = start;
            while (eq < end && query[eq] != '=') {
                eq++;
            }
            byte[] name = decode(query, start, eq);
            byte[] value = eq < end ? decode(query, eq + 1, end) : new byte[0];
            if (Arrays.equals(name, SOURCE_TAG)) {
                tag = value;
            } else if (Arrays.equals(name, VIP)) {
                vipText = value;
            }
            start = end + 1;
        }
        Vip vip = null;
        if (vipText != null) {
            String text = new String(vipText, StandardCharsets.ISO_8859_1);
            vip = Vip.parse(text);
        }
        return new ScrapeFilter(tag, vipText != null, vip);
    }

    /** Percent-decoding of query[from..to); {@code +} is a space; malformed escapes stay literal. */
    static byte[] decode(byte[] q, int from, int to) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(to - from);
        for (int i = from; i < to; i++) {
            byte b = q[i];
            if (b == '+') {
                out.write(' ');
            } else if (b == '%' && hex(q, i + 1, to) >= 0 && hex(q, i + 2, to) >= 0) {
                out.write(hex(q, i + 1, to) << 4 | hex(q, i + 2, to));
                i += 2;
            } else {
                out.write(b);
            }
        }
        return out.toByteArray();
    }

    private static int hex(byte[] q, int i, int to) {
        if (i >= to) {
            return -1;
        }
        int c = q[i];
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    public boolean isEmpty() {
        return sourceTag == null && !vipGiven;
    }

    public boolean matchesTag(byte[] tagUtf8) {
        return sourceTag == null || Arrays.equals(sourceTag, tagUtf8);
    }

    public boolean matchesVip(int family, long hi, long lo) {
        return !vipGiven || (vip != null && vip.sameAs(family, hi, lo));
    }
}
