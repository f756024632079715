package ch.ipng.stats.format;

import io.prometheus.client.Collector;
import io.prometheus.client.Collector.MetricFamilySamples;
import io.prometheus.client.Collector.MetricFamilySamples.Sample;
import io.prometheus.client.Collector.Type;
import io.prometheus.client.exporter.common.TextFormat;
import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The test oracle of {@link PrometheusFormat}: the same families built as
 * simpleclient_common {@code MetricFamilySamples} and written by its
 * {@link TextFormat} (what the module shipped before the hand-written
 * writer; see PrometheusFormat's class comment). Counter families are named
 * without {@code _total} (the library adds it), their samples with it.
 */
final class SimpleclientOracle {

    private static final List<String> SERIES_CODE = List.of("source_tag", "vip", "code");
    private static final List<String> SERIES = List.of("source_tag", "vip");
    private static final List<String> SERIES_LE = List.of("source_tag", "vip", "le");
    private static final List<String> WORKER = List.of("worker");
    private static final List<String> WORKER_LE = List.of("worker", "le");
    private static final List<String> LE = List.of("le");
    private static final List<String> NONE = List.of();
    private static final List<String> BUILD = List.of("version", "nginx_version", "java_version");

    private SimpleclientOracle() {
    }

    /** 0.0.4 text, or OpenMetrics 1.0 when {@code openMetrics}. */
    static String write(ZoneSnapshot z, BuildInfo build, boolean openMetrics) throws IOException {
        List<MetricFamilySamples> families = families(z, build);
        StringWriter writer = new StringWriter();
        if (openMetrics) {
            TextFormat.writeOpenMetrics100(writer, Collections.enumeration(families));
        } else {
            TextFormat.write004(writer, Collections.enumeration(families));
        }
        return writer.toString();
    }

    static List<MetricFamilySamples> families(ZoneSnapshot z, BuildInfo build) {
        List<Sample> requests = new ArrayList<>();
        List<Sample> bytesIn = new ArrayList<>();
        List<Sample> bytesOut = new ArrayList<>();
        List<Sample> duration = new ArrayList<>();
        List<Sample> upstream = new ArrayList<>();
        List<Sample> rate1 = new ArrayList<>();
        List<Sample> rate10 = new ArrayList<>();
        List<Sample> rate60 = new ArrayList<>();
        String[] le = new String[z.boundsMs.length + 1];
        for (int b = 0; b < z.boundsMs.length; b++) {
            le[b] = Collector.doubleToGoString(z.boundsMs[b] / 1000.0);
        }
        le[z.boundsMs.length] = "+Inf";

        for (ZoneSnapshot.Series s : z.series) {
            for (ZoneSnapshot.Code c : s.codes()) {
                List<String> values = List.of(s.tag, s.vip, c.text);
                requests.add(new Sample("nginx_ipng_requests_total", SERIES_CODE, values, c.requests));
                bytesIn.add(new Sample("nginx_ipng_bytes_in_total", SERIES_CODE, values, c.bytesIn));
                bytesOut.add(new Sample("nginx_ipng_bytes_out_total", SERIES_CODE, values, c.bytesOut));
            }
            List<String> values = List.of(s.tag, s.vip);
            histogram(duration, "nginx_ipng_request_duration_seconds", s, values, le, s.duration);
            if (s.upstream.count() != 0) {
                histogram(upstream, "nginx_ipng_upstream_response_seconds", s, values, le, s.upstream);
            }
            rate1.add(new Sample("nginx_ipng_rate_1s", SERIES, values, s.rate1s));
            rate10.add(new Sample("nginx_ipng_rate_10s", SERIES, values, s.rate10s));
            rate60.add(new Sample("nginx_ipng_rate_60s", SERIES, values, s.rate60s));
        }

        List<Sample> flushes = new ArrayList<>();
        List<Sample> flushDurations = new ArrayList<>();
        for (int w = 0; w < z.workerFlushes.length; w++) {
            if (z.workerFlushDurations[w] == null) {
                continue;
            }
            List<String> worker = List.of(Integer.toString(w));
            flushes.add(new Sample("nginx_ipng_flushes_total", WORKER, worker, z.workerFlushes[w]));
            selfHistogram(flushDurations, "nginx_ipng_flush_duration_seconds", WORKER_LE, worker,
                z.workerFlushDurations[w]);
        }
        List<Sample> scrapes = new ArrayList<>();
        selfHistogram(scrapes, "nginx_ipng_scrape_duration_seconds", LE, NONE, z.scrapes);

        List<MetricFamilySamples> f = new ArrayList<>();
        f.add(new MetricFamilySamples("nginx_ipng_requests", Type.COUNTER,
            "Requests per source tag, VIP and status code.", requests));
        f.add(new MetricFamilySamples("nginx_ipng_bytes_in", Type.COUNTER,
            "Request bytes received (request line, headers and body).", bytesIn));
        f.add(new MetricFamilySamples("nginx_ipng_bytes_out", Type.COUNTER,
            "Response bytes sent (status line, headers and body).", bytesOut));
        f.add(new MetricFamilySamples("nginx_ipng_request_duration_seconds", Type.HISTOGRAM,
            "Request duration.", duration));
        f.add(new MetricFamilySamples("nginx_ipng_upstream_response_seconds", Type.HISTOGRAM,
            "Upstream response time (sum over upstream tries).", upstream));
        f.add(new MetricFamilySamples("nginx_ipng_rate_1s", Type.GAUGE,
            "EWMA requests per second, 1-second decay.", rate1));
        f.add(new MetricFamilySamples("nginx_ipng_rate_10s", Type.GAUGE,
            "EWMA requests per second, 10-second decay.", rate10));
        f.add(new MetricFamilySamples("nginx_ipng_rate_60s", Type.GAUGE,
            "EWMA requests per second, 60-second decay.", rate60));
        f.add(single("nginx_ipng_zone_bytes_used", Type.GAUGE,
            "Shared-memory zone bytes currently allocated.", z.bytesUsed));
        f.add(single("nginx_ipng_zone_size_bytes", Type.GAUGE,
            "Shared-memory zone capacity in bytes.", z.bytesTotal));
        f.add(single("nginx_ipng_zone_full_events", Type.COUNTER,
            "Key insertions dropped because the zone was full.", z.fullEvents));
        f.add(single("nginx_ipng_ifindex_misses", Type.COUNTER,
            "Connections whose ingress interface matched no listen device (pktinfo mode).",
            z.ifindexMisses));
        f.add(single("nginx_ipng_dropped_records", Type.COUNTER,
            "Requests not counted because the worker's ring was full or the worker had no ring.",
            z.droppedRecords));
        f.add(new MetricFamilySamples("nginx_ipng_flushes", Type.COUNTER,
            "Flushes of worker-private counters into the zone.", flushes));
        f.add(new MetricFamilySamples("nginx_ipng_flush_duration_seconds", Type.HISTOGRAM,
            "Duration of the flushes into the zone.", flushDurations));
        f.add(new MetricFamilySamples("nginx_ipng_scrape_duration_seconds", Type.HISTOGRAM,
            "Duration of the scrape handler.", scrapes));
        f.add(new MetricFamilySamples("nginx_ipng_build_info", Type.GAUGE,
            "Versions of the module, nginx and the JVM; always 1.",
            List.of(new Sample("nginx_ipng_build_info", BUILD,
                List.of(build.version, build.nginxVersion, build.javaVersion), 1))));
        return f;
    }

    private static void histogram(List<Sample> out, String name, ZoneSnapshot.Series s, List<String> values,
                                  String[] le, ZoneSnapshot.Histogram h) {
        for (int b = 0; b < le.length; b++) {
            out.add(new Sample(name + "_bucket", SERIES_LE, List.of(s.tag, s.vip, le[b]), h.cumulative[b]));
        }
        out.add(new Sample(name + "_count", SERIES, values, h.count()));
        out.add(new Sample(name + "_sum", SERIES, values, h.sumMs / 1000.0));
    }

    private static void selfHistogram(List<Sample> out, String name, List<String> names, List<String> values,
                                      ZoneSnapshot.SelfHistogram h) {
        long cumulative = 0;
        for (int b = 0; b < h.buckets.length; b++) {
            cumulative += h.buckets[b];
            String le = b < h.buckets.length - 1
                ? Collector.doubleToGoString(ZoneSnapshot.selfBoundSeconds(b)) : "+Inf";
            List<String> v = new ArrayList<>(values);
            v.add(le);
            out.add(new Sample(name + "_bucket", names, v, cumulative));
        }
        out.add(new Sample(name + "_count", names.subList(0, names.size() - 1), values, cumulative));
        out.add(new Sample(name + "_sum", names.subList(0, names.size() - 1), values, h.sumNanos / 1e9));
    }

    /** A family of one unlabelled sample; counters get their {@code _total} sample name. */
    private static MetricFamilySamples single(String name, Type type, String help, double value) {
        String sample = type == Type.COUNTER ? name + "_total" : name;
        return new MetricFamilySamples(name, type, help, List.of(new Sample(sample, NONE, NONE, value)));
    }
}
