package ch.ipng.stats.format;

import ch.ipng.stats.zone.SharedZone;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * One scrape: content negotiation, filters, rendering. The answer is
 * {@code <content-type> "\n" <body>} as bytes, what C splits and sends.
 * The Accept header is a comma-separated list of media ranges; parameters
 * (after {@code ;}, q-values included) are ignored, types compare
 * case-insensitively:
 * <ul>
 * <li>a range {@code application/json}: JSON;</li>
 * <li>else a range {@code application/openmetrics-text}: OpenMetrics 1.0;</li>
 * <li>else (no header, {@code *}{@code /*}, anything else, garbage): Prometheus text 0.0.4.</li>
 * </ul>
 * (simpleclient's {@code TextFormat.chooseContentType} is not used: it throws
 * on an Accept header such as {@code ";"}.)
 */
public final class Scrape {

    public static final String CONTENT_TYPE_JSON = "application/json";
    /** The content types of simpleclient_common's TextFormat (a test pins them). */
    public static final String CONTENT_TYPE_004 = "text/plain; version=0.0.4; charset=utf-8";
    public static final String CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private Scrape() {
    }

    static final int FORMAT_TEXT = 0;
    static final int FORMAT_OPENMETRICS = 1;
    static final int FORMAT_JSON = 2;

    /** The format an Accept header asks for (see the class comment); never throws. */
    static int negotiate(byte[] accept) {
        if (accept == null) {
            return FORMAT_TEXT;
        }
        int format = FORMAT_TEXT;
        int start = 0;
        while (start <= accept.length) {
            int end = start;
            while (end < accept.length && accept[end] != ',') {
                end++;
            }
            int typeEnd = start;
            while (typeEnd < end && accept[typeEnd] != ';') {
                typeEnd++;
            }
            if (isType(accept, start, typeEnd, JSON_TYPE)) {
                return FORMAT_JSON;
            }
            if (isType(accept, start, typeEnd, OPENMETRICS_TYPE)) {
                format = FORMAT_OPENMETRICS;
            }
            start = end + 1;
        }
        return format;
    }

    private static final byte[] JSON_TYPE = "application/json".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OPENMETRICS_TYPE = "application/openmetrics-text".getBytes(StandardCharsets.US_ASCII);

    /** accept[from..to), without surrounding spaces and tabs, equals type ignoring ASCII case. */
    private static boolean isType(byte[] a, int from, int to, byte[] type) {
        while (from < to && (a[from] == ' ' || a[from] == '\t')) {
            from++;
        }
        while (to > from && (a[to - 1] == ' ' || a[to - 1] == '\t')) {
            to--;
        }
        if (to - from != type.length) {
            return false;
        }
        for (int i = 0; i < type.length; i++) {
            int c = a[from + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != type[i]) {
                return false;
            }
        }
        return true;
    }

    /** {@link #render(ByteSink, SharedZone, BuildInfo, byte[], byte[])} into a new array. */
    public static byte[] render(SharedZone zone, BuildInfo build, byte[] query, byte[] accept) throws IOException {
        ByteSink out = new ByteSink(8192);
        render(out, zone, build, query, accept);
        return out.toByteArray();
    }

    /**
     * Replaces the content of {@code out} with {@code <content-type> "\n" <body>}:
     * the answer to a scrape with this query string and Accept header.
     */
    public static void render(ByteSink out, SharedZone zone, BuildInfo build, byte[] query, byte[] accept)
            throws IOException {
        int format = negotiate(accept);
        out.pacer().begin();
        ZoneSnapshot snapshot = ZoneSnapshot.read(zone, ScrapeFilter.parse(query), out.pacer());
        out.reset();
        if (format == FORMAT_JSON) {
            out.writeAscii(CONTENT_TYPE_JSON + "\n");
            JsonFormat.write(out, snapshot);
            return;
        }
        boolean openMetrics = format == FORMAT_OPENMETRICS;
        out.writeAscii(openMetrics ? CONTENT_TYPE_OPENMETRICS : CONTENT_TYPE_004);
        out.write('\n');
        PrometheusFormat.write(out, snapshot, build, openMetrics);
    }
}
