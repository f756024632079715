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
 *
 * <p>The body is compressed (gzip, {@link Gzip}) when the Accept-Encoding
 * header accepts gzip ({@link #acceptsGzip}) and the answer goes out in
 * chunks (a {@link ByteSink} with an Overflow, as in the module); the head
 * line is then {@code <content-type> "\t" "gzip"}, and C sends the
 * Content-Encoding header.
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
            int end = indexOf(accept, ',', start, accept.length);
            int typeEnd = indexOf(accept, ';', start, end);
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

    /** The first c in a[from..to), else to. */
    private static int indexOf(byte[] a, char c, int from, int to) {
        while (from < to && a[from] != c) {
            from++;
        }
        return from;
    }

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

    /**
     * Whether an Accept-Encoding header accepts gzip (RFC 9110, 12.5.3): the
     * first {@code gzip} (or {@code x-gzip}) coding decides, else {@code *};
     * a weight {@code q=0} (or 0.0, 0.00, 0.000) refuses, and so does a
     * weight that is not a number from 0 to 1 (identity is always a safe
     * answer). Codings compare case-insensitively; never throws.
     */
    static boolean acceptsGzip(byte[] h) {
        if (h == null) {
            return false;
        }
        boolean star = false;
        int start = 0;
        while (start <= h.length) {
            int end = indexOf(h, ',', start, h.length);
            int semi = indexOf(h, ';', start, end);
            boolean accepted = weightAboveZero(h, semi, end);
            if (isType(h, start, semi, GZIP) || isType(h, start, semi, X_GZIP)) {
                return accepted;
            }
            if (isType(h, start, semi, STAR)) {
                star = accepted;
            }
            start = end + 1;
        }
        return star;
    }

    private static final byte[] GZIP = "gzip".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] X_GZIP = "x-gzip".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] STAR = "*".getBytes(StandardCharsets.US_ASCII);

    /* the parameters h[from..to), each after a ';': no q is weight 1 */
    private static boolean weightAboveZero(byte[] h, int from, int to) {
        while (from < to) {
            int p = from + 1;
            int end = indexOf(h, ';', p, to);
            while (p < end && (h[p] == ' ' || h[p] == '\t')) {
                p++;
            }
            if (end - p >= 2 && (h[p] == 'q' || h[p] == 'Q') && h[p + 1] == '=') {
                return weight(h, p + 2, end) > 0;
            }
            from = end;
        }
        return true;
    }

    /* a qvalue ("0", "0.5", "1.000"), in thousandths; -1 if it is none */
    private static int weight(byte[] h, int from, int to) {
        while (to > from && (h[to - 1] == ' ' || h[to - 1] == '\t')) {
            to--;
        }
        if (from >= to || (h[from] != '0' && h[from] != '1')) {
            return -1;
        }
        int w = (h[from] - '0') * 1000;
        if (from + 1 == to) {
            return w;
        }
        if (h[from + 1] != '.' || to - from - 2 > 3) {
            return -1;
        }
        int scale = 100;
        for (int i = from + 2; i < to; i++, scale /= 10) {
            if (h[i] < '0' || h[i] > '9') {
                return -1;
            }
            w += (h[i] - '0') * scale;
        }
        return w <= 1000 ? w : -1;
    }

    /** {@link #render(ByteSink, SharedZone, BuildInfo, byte[], byte[], byte[])} into a new array, never compressed. */
    public static byte[] render(SharedZone zone, BuildInfo build, byte[] query, byte[] accept) throws IOException {
        ByteSink out = new ByteSink(8192);
        render(out, zone, build, query, accept, null);
        return out.toByteArray();
    }

    /**
     * Replaces the content of {@code out} with {@code <content-type> "\n" <body>}
     * (or {@code <content-type> "\tgzip\n" <gzip body>}): the answer to a
     * scrape with this query string and Accept and Accept-Encoding headers.
     * A compressed answer is complete only after {@link ByteSink#finish}.
     */
    public static void render(ByteSink out, SharedZone zone, BuildInfo build, byte[] query, byte[] accept,
                              byte[] acceptEncoding) throws IOException {
        render(out, null, zone, 0, build, query, accept, acceptEncoding);
    }

    /**
     * {@link #render(ByteSink, SharedZone, BuildInfo, byte[], byte[], byte[])}
     * that, for an unfiltered Prometheus answer compressed with gzip, reuses
     * the compressed segments of the last such answer that {@code segments}
     * (or null) kept, where the counts have not changed since.
     * {@code ringDrops}: the drops still in the rings, not yet in the zone's
     * DROPPED_RECORDS.
     */
    public static void render(ByteSink out, SegmentCache segments, SharedZone zone, long ringDrops,
                              BuildInfo build, byte[] query, byte[] accept, byte[] acceptEncoding)
            throws IOException {
        write(out, read(out, segments, zone, ringDrops, build, query, accept, acceptEncoding));
    }

    /**
     * The first half of {@link #render(ByteSink, SegmentCache, SharedZone, long, BuildInfo, byte[], byte[],
     * byte[])}: the zone's numbers, copied; the stats process takes them while
     * it holds the drain lock, and formats them ({@link #write}) after.
     */
    public static Answer read(ByteSink out, SegmentCache segments, SharedZone zone, long ringDrops,
                              BuildInfo build, byte[] query, byte[] accept, byte[] acceptEncoding) {
        int format = negotiate(accept);
        ScrapeFilter filter = ScrapeFilter.parse(query);
        boolean gzip = acceptsGzip(acceptEncoding) && out.hasOverflow();
        SegmentCache reuse = gzip && format != FORMAT_JSON && filter.isEmpty() ? segments : null;
        ZoneSnapshot snapshot = ZoneSnapshot.read(zone, ringDrops, filter, reuse == null ? null : reuse.recycle());
        return new Answer(format, gzip, reuse, snapshot, build);
    }

    /** The second half: the answer's head line and its body, into {@code out}. */
    public static void write(ByteSink out, Answer a) throws IOException {
        boolean json = a.format == FORMAT_JSON;
        boolean openMetrics = a.format == FORMAT_OPENMETRICS;
        out.reset();
        out.writeAscii(json ? CONTENT_TYPE_JSON : openMetrics ? CONTENT_TYPE_OPENMETRICS : CONTENT_TYPE_004);
        if (a.gzip) {
            out.writeAscii("\tgzip");
        }
        out.write('\n');
        if (a.gzip) {
            out.compressFromHere();
        }
        if (json) {
            JsonFormat.write(out, a.snapshot);
        } else if (a.reuse != null) {
            PrometheusFormat.write(out, a.snapshot, a.build, openMetrics, a.reuse);
        } else {
            PrometheusFormat.write(out, a.snapshot, a.build, openMetrics);
        }
    }

    /** A scrape between {@link #read} and {@link #write}: what to render, and how. */
    public static final class Answer {
        final int format;
        final boolean gzip;
        final SegmentCache reuse;
        final ZoneSnapshot snapshot;
        final BuildInfo build;

        Answer(int format, boolean gzip, SegmentCache reuse, ZoneSnapshot snapshot, BuildInfo build) {
            this.format = format;
            this.gzip = gzip;
            this.reuse = reuse;
            this.snapshot = snapshot;
            this.build = build;
        }
    }
}
