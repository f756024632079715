package ch.ipng.stats.format;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Renders a {@link ZoneSnapshot} as Prometheus text 0.0.4 or OpenMetrics 1.0
 * straight into a {@link ByteSink}, byte for byte what simpleclient_common
 * 0.16's {@code TextFormat} writes for the same families (a test renders both
 * and compares): 0.0.4 names counter families with {@code _total} in HELP and
 * TYPE and ends label sets with a comma; OpenMetrics puts TYPE before HELP,
 * names the family without {@code _total} and ends with {@code # EOF}; values
 * are Go-style doubles ({@code 3.0}, {@code 1.2345E7}).
 *
 * <p>Why not TextFormat itself (the library stays, as the test oracle): with
 * 12,000 keys it allocated 19 MB per scrape (a {@code Sample}, a label list
 * and a value string per line, and a writer growing to 4 MB), ran about 20 ms
 * and brought 3 MB arrays straight into the old generation, which grew the
 * worker's heap to its limit. Here each series' label set is escaped and
 * encoded once, counts are written as digits, and the only per-line
 * allocation left is {@code Double.toString} for rates and sums.
 *
 * <p>Histograms: {@code le} and {@code _sum} in seconds; the upstream
 * histogram of a series is only written once it has observations.
 */
public final class PrometheusFormat {

    private static final byte[] BUCKET = ascii("_bucket");
    private static final byte[] COUNT = ascii("_count");
    private static final byte[] SUM = ascii("_sum");
    private static final byte[] TOTAL = ascii("_total");
    private static final byte[] NONE = new byte[0];
    private static final byte[] CODE_START = ascii(",code=\"");
    private static final byte[] LE_START = ascii(",le=\"");
    /* the end of a label set whose last value is written apart: a code or an le */
    private static final byte[] VALUE_END_004 = ascii("\",} ");
    private static final byte[] VALUE_END_OPENMETRICS = ascii("\"} ");
    private static final byte[] LE = ascii("le");
    private static final byte[] INF = ascii("+Inf");
    private static final byte[] EOF = ascii("# EOF\n");

    private enum Type { COUNTER, GAUGE, HISTOGRAM }

    /** One metric family: its name, type and help as ready-made header lines. */
    private static final class Family {
        final byte[] name;
        final byte[] header004;
        final byte[] headerOpenMetrics;
        final byte[] suffix;

        Family(String name, Type type, String help) {
            String t = type.name().toLowerCase();
            String named = type == Type.COUNTER ? name + "_total" : name;
            this.name = ascii(name);
            this.header004 = ascii("# HELP " + named + " " + help + "\n# TYPE " + named + " " + t + "\n");
            this.headerOpenMetrics = ascii("# TYPE " + name + " " + t + "\n# HELP " + name + " " + help + "\n");
            this.suffix = type == Type.COUNTER ? TOTAL : NONE;
        }
    }

    private static final Family REQUESTS = new Family("nginx_ipng_requests", Type.COUNTER,
        "Requests per source tag, VIP and status code.");
    private static final Family BYTES_IN = new Family("nginx_ipng_bytes_in", Type.COUNTER,
        "Request bytes received (request line, headers and body).");
    private static final Family BYTES_OUT = new Family("nginx_ipng_bytes_out", Type.COUNTER,
        "Response bytes sent (status line, headers and body).");
    private static final Family DURATION = new Family("nginx_ipng_request_duration_seconds", Type.HISTOGRAM,
        "Request duration.");
    private static final Family UPSTREAM = new Family("nginx_ipng_upstream_response_seconds", Type.HISTOGRAM,
        "Upstream response time (sum over upstream tries).");
    private static final Family RATE_1S = new Family("nginx_ipng_rate_1s", Type.GAUGE,
        "EWMA requests per second, 1-second decay.");
    private static final Family RATE_10S = new Family("nginx_ipng_rate_10s", Type.GAUGE,
        "EWMA requests per second, 10-second decay.");
    private static final Family RATE_60S = new Family("nginx_ipng_rate_60s", Type.GAUGE,
        "EWMA requests per second, 60-second decay.");
    private static final Family ZONE_USED = new Family("nginx_ipng_zone_bytes_used", Type.GAUGE,
        "Shared-memory zone bytes currently allocated.");
    private static final Family ZONE_SIZE = new Family("nginx_ipng_zone_size_bytes", Type.GAUGE,
        "Shared-memory zone capacity in bytes.");
    private static final Family ZONE_FULL = new Family("nginx_ipng_zone_full_events", Type.COUNTER,
        "Key insertions dropped because the zone was full.");
    private static final Family IFINDEX_MISSES = new Family("nginx_ipng_ifindex_misses", Type.COUNTER,
        "Connections whose ingress interface matched no listen device (pktinfo mode).");
    private static final Family DROPPED_RECORDS = new Family("nginx_ipng_dropped_records", Type.COUNTER,
        "Requests not counted because the worker's ring was full or the worker had no ring.");
    private static final Family FLUSHES = new Family("nginx_ipng_flushes", Type.COUNTER,
        "Flushes of worker-private counters into the zone.");
    private static final Family FLUSH_DURATION = new Family("nginx_ipng_flush_duration_seconds",
        Type.HISTOGRAM, "Duration of the flushes into the zone.");
    private static final Family SCRAPE_DURATION = new Family("nginx_ipng_scrape_duration_seconds",
        Type.HISTOGRAM, "Duration of the scrape handler.");
    private static final Family BUILD_INFO = new Family("nginx_ipng_build_info", Type.GAUGE,
        "Versions of the module, nginx and the JVM; always 1.");

    /** {@code le} values of the self-metric histograms (fixed bounds), then +Inf. */
    private static final byte[][] SELF_LE = selfLe();

    /* key lines per segment of a compressed answer (~20 KB of text), see SegmentCache */
    static final int SEGMENT_LINES = 256;

    private final ByteSink out;
    private final boolean openMetrics;
    /* the segments of the last compressed answer, or null: nothing is cut */
    private final SegmentCache segments;
    /* the last answer's snapshot when its keys are the same as this one's, else null */
    private ZoneSnapshot was;

    private PrometheusFormat(ByteSink out, boolean openMetrics, SegmentCache segments) {
        this.out = out;
        this.openMetrics = openMetrics;
        this.segments = segments;
    }

    /** Appends 0.0.4 text, or OpenMetrics 1.0 when {@code openMetrics}. */
    public static void write(ByteSink out, ZoneSnapshot z, BuildInfo build, boolean openMetrics) {
        new PrometheusFormat(out, openMetrics, null).write(z, build);
    }

    /**
     * {@link #write(ByteSink, ZoneSnapshot, BuildInfo, boolean)} into a
     * compressing sink, splicing in the segments of the last answer that
     * {@code segments} kept where their values have not changed (the same
     * bytes once decompressed).
     */
    static void write(ByteSink out, ZoneSnapshot z, BuildInfo build, boolean openMetrics, SegmentCache segments) {
        if (!out.compressing()) {
            throw new IllegalArgumentException("segments are kept of compressed answers only");
        }
        PrometheusFormat f = new PrometheusFormat(out, openMetrics, segments);
        f.was = segments.begin(z, openMetrics);
        f.write(z, build);
        segments.end(z, openMetrics);
    }

    /**
     * Begins the next segment: true when it was spliced from the last
     * answer (its lines are not written), false when the caller writes its
     * lines and then calls {@link #segmentEnd}. Without a cache, always false.
     */
    private boolean segmentReused(boolean unchanged) {
        if (segments == null) {
            return false;
        }
        Gzip.Segment s = segments.next(unchanged);
        if (s != null) {
            out.splice(s);
            return true;
        }
        out.beginSegment();
        return false;
    }

    private void segmentEnd() {
        if (segments != null) {
            segments.keep(out.endSegment());
        }
    }

    private void write(ZoneSnapshot z, BuildInfo build) {
        int n = z.series.size();
        byte[][] labels = new byte[n][];
        for (int i = 0; i < n; i++) {
            ZoneSnapshot.Series s = z.series.get(i);
            labels[i] = labelSet("source_tag", s.tag, "vip", s.vip);
        }
        byte[][] le = new byte[z.boundsMs.length + 1][];
        for (int b = 0; b < z.boundsMs.length; b++) {
            le[b] = ascii(goDouble(z.boundsMs[b] / 1000.0));
        }
        le[z.boundsMs.length] = INF;

        codes(REQUESTS, z, labels, 0);
        codes(BYTES_IN, z, labels, 1);
        codes(BYTES_OUT, z, labels, 2);
        histograms(DURATION, z, labels, le, false);
        histograms(UPSTREAM, z, labels, le, true);
        rates(RATE_1S, z, labels, 0);
        rates(RATE_10S, z, labels, 1);
        rates(RATE_60S, z, labels, 2);
        single(ZONE_USED, z.bytesUsed);
        single(ZONE_SIZE, z.bytesTotal);
        single(ZONE_FULL, z.fullEvents);
        single(IFINDEX_MISSES, z.ifindexMisses);
        single(DROPPED_RECORDS, z.droppedRecords);

        header(FLUSHES);
        for (int w = 0; w < z.workerFlushes.length; w++) {
            if (z.workerFlushDurations[w] != null) {
                open(FLUSHES, FLUSHES.suffix, workerLabel(w), null, null);
                value(z.workerFlushes[w]);
            }
        }
        header(FLUSH_DURATION);
        for (int w = 0; w < z.workerFlushes.length; w++) {
            if (z.workerFlushDurations[w] != null) {
                selfHistogram(FLUSH_DURATION, workerLabel(w), z.workerFlushDurations[w]);
            }
        }
        header(SCRAPE_DURATION);
        selfHistogram(SCRAPE_DURATION, null, z.scrapes);

        header(BUILD_INFO);
        open(BUILD_INFO, NONE, labelSet("version", build.version, "nginx_version", build.nginxVersion,
            "java_version", build.javaVersion), null, null);
        value(1);
        if (openMetrics) {
            out.write(EOF);
        }
    }

    /**
     * requests (0), bytes in (1) or bytes out (2) of every (series, code):
     * the hot loop of a large scrape, so each series' line start
     * {@code name_total{labels,code="} is made once and each line is one
     * {@link ByteSink#writeCountLine} (what {@link #open} and
     * {@link #value(long)} write, in one piece).
     */
    private void codes(Family f, ZoneSnapshot z, byte[][] labels, int which) {
        header(f);
        byte[] close = openMetrics ? VALUE_END_OPENMETRICS : VALUE_END_004;
        long[] values = codeValues(z, which);
        long[] before = was == null ? null : codeValues(was, which);
        for (int from = 0, to; from < labels.length; from = to) {
            // a segment: whole series, at least SEGMENT_LINES lines
            int lines = 0;
            boolean unchanged = before != null;
            for (to = from; to < labels.length && lines < SEGMENT_LINES; to++) {
                ZoneSnapshot.Series s = z.series.get(to);
                lines += s.codeTo - s.codeFrom;
                if (unchanged) {
                    ZoneSnapshot.Series b = was.series.get(to);
                    unchanged = Arrays.equals(values, s.codeFrom, s.codeTo, before, b.codeFrom, b.codeTo);
                }
            }
            if (segmentReused(unchanged)) {
                continue;
            }
            for (int i = from; i < to; i++) {
                byte[] start = concat(f.name, f.suffix, LABELS_START, labels[i], CODE_START);
                ZoneSnapshot.Series s = z.series.get(i);
                for (int k = s.codeFrom; k < s.codeTo; k++) {
                    out.writeCountLine(start, z.codeLabelBytes(k), close, values[k]);
                }
            }
            segmentEnd();
        }
    }

    private static long[] codeValues(ZoneSnapshot z, int which) {
        return which == 0 ? z.codeRequests : which == 1 ? z.codeBytesIn : z.codeBytesOut;
    }

    /* series per histogram segment: SEGMENT_LINES lines with the default 12 buckets */
    private static final int HISTOGRAMS_PER_SEGMENT = SEGMENT_LINES / 16;

    /** The request duration (or the upstream, {@code upstream}: only series with observations) histograms. */
    private void histograms(Family f, ZoneSnapshot z, byte[][] labels, byte[][] le, boolean upstream) {
        header(f);
        for (int from = 0, to; from < labels.length; from = to) {
            to = Math.min(labels.length, from + HISTOGRAMS_PER_SEGMENT);
            boolean unchanged = was != null;
            for (int i = from; i < to && unchanged; i++) {
                unchanged = histogram(z.series.get(i), upstream).sameAs(histogram(was.series.get(i), upstream));
            }
            if (segmentReused(unchanged)) {
                continue;
            }
            for (int i = from; i < to; i++) {
                ZoneSnapshot.Histogram h = histogram(z.series.get(i), upstream);
                if (!upstream || h.count() != 0) {
                    histogram(f, labels[i], le, h);
                }
            }
            segmentEnd();
        }
    }

    private static ZoneSnapshot.Histogram histogram(ZoneSnapshot.Series s, boolean upstream) {
        return upstream ? s.upstream : s.duration;
    }

    private static final byte[] LABELS_START = {'{'};

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] part : parts) {
            n += part.length;
        }
        byte[] all = new byte[n];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    private void rates(Family f, ZoneSnapshot z, byte[][] labels, int which) {
        header(f);
        for (int from = 0, to; from < labels.length; from = to) {
            to = Math.min(labels.length, from + SEGMENT_LINES);
            boolean unchanged = was != null;
            for (int i = from; i < to && unchanged; i++) {
                unchanged = Double.doubleToRawLongBits(rate(z.series.get(i), which))
                    == Double.doubleToRawLongBits(rate(was.series.get(i), which));
            }
            if (segmentReused(unchanged)) {
                continue;
            }
            for (int i = from; i < to; i++) {
                open(f, NONE, labels[i], null, null);
                value(rate(z.series.get(i), which));
            }
            segmentEnd();
        }
    }

    private static double rate(ZoneSnapshot.Series s, int which) {
        return which == 0 ? s.rate1s : which == 1 ? s.rate10s : s.rate60s;
    }

    private void histogram(Family f, byte[] labels, byte[][] le, ZoneSnapshot.Histogram h) {
        // name_bucket{labels,le=" made once, then each bound and count as one line (see codes)
        byte[] start = concat(f.name, BUCKET, LABELS_START, labels, LE_START);
        byte[] close = openMetrics ? VALUE_END_OPENMETRICS : VALUE_END_004;
        for (int b = 0; b < le.length; b++) {
            out.writeCountLine(start, le[b], close, h.cumulative[b]);
        }
        open(f, COUNT, labels, null, null);
        value(h.count());
        open(f, SUM, labels, null, null);
        value(h.sumMs / 1000.0);
    }

    /** A self-metric histogram: the zone keeps its buckets non-cumulative, in nanoseconds. */
    private void selfHistogram(Family f, byte[] labels, ZoneSnapshot.SelfHistogram h) {
        long cumulative = 0;
        for (int b = 0; b < h.buckets.length; b++) {
            cumulative += h.buckets[b];
            open(f, BUCKET, labels, LE, b < h.buckets.length - 1 ? SELF_LE[b] : INF);
            value(cumulative);
        }
        open(f, COUNT, labels, null, null);
        value(cumulative);
        open(f, SUM, labels, null, null);
        value(h.sumNanos / 1e9);
    }

    private void single(Family f, long v) {
        header(f);
        open(f, f.suffix, null, null, null);
        value(v);
    }

    private void header(Family f) {
        out.write(openMetrics ? f.headerOpenMetrics : f.header004);
    }

    /**
     * {@code name suffix} and the label set up to the space before the value:
     * {@code labels} (already {@code k="v",...} without the last comma), then
     * {@code key="value"} if a key is given; 0.0.4 closes with {@code ,}}.
     */
    private void open(Family f, byte[] suffix, byte[] labels, byte[] key, byte[] value) {
        out.write(f.name);
        out.write(suffix);
        if (labels != null || key != null) {
            out.write('{');
            if (labels != null) {
                out.write(labels);
            }
            if (key != null) {
                if (labels != null) {
                    out.write(',');
                }
                out.write(key);
                out.write('=');
                out.write('"');
                out.write(value);
                out.write('"');
            }
            if (!openMetrics) {
                out.write(',');
            }
            out.write('}');
        }
        out.write(' ');
    }

    private void value(long count) {
        out.writeCount(count);
        out.write('\n');
    }

    private void value(double v) {
        out.writeGoDouble(v);
        out.write('\n');
    }

    private static byte[] workerLabel(int w) {
        return ascii("worker=\"" + w + "\"");
    }

    /** {@code k1="v1",k2="v2"...}: values escaped (backslash, quote, newline), UTF-8. */
    static byte[] labelSet(String... keysAndValues) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(keysAndValues[i]).append("=\"");
            String v = keysAndValues[i + 1];
            for (int j = 0; j < v.length(); j++) {
                char c = v.charAt(j);
                if (c == '\\') {
                    sb.append("\\\\");
                } else if (c == '"') {
                    sb.append("\\\"");
                } else if (c == '\n') {
                    sb.append("\\n");
                } else {
                    sb.append(c);
                }
            }
            sb.append('"');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static String goDouble(double v) {
        ByteSink s = new ByteSink(32);
        s.writeGoDouble(v);
        return s.toString();
    }

    private static byte[][] selfLe() {
        byte[][] le = new byte[ch.ipng.stats.layout.ZoneDescriptor.SELF_BUCKET_COUNT - 1][];
        for (int b = 0; b < le.length; b++) {
            le[b] = ascii(goDouble(ZoneSnapshot.selfBoundSeconds(b)));
        }
        return le;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
