package ch.ipng.stats.format;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Renders a {@link ZoneSnapshot} as the JSON document of the configuration
 * reference ({@code "schema": 1}) with one shared {@link JsonFactory} and one
 * streaming generator per scrape. Buckets are cumulative, keyed by the bound
 * in ms, then {@code "+Inf"}. Tags and VIPs are escaped by the generator
 * (quotes, backslashes, control characters; UTF-8 passes through).
 */
public final class JsonFormat {

    public static final int SCHEMA = 1;

    private static final JsonFactory FACTORY = new JsonFactory();

    private JsonFormat() {
    }

    public static void write(OutputStream out, ZoneSnapshot z) throws IOException {
        try (JsonGenerator g = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeNumberField("schema", SCHEMA);
            g.writeObjectFieldStart("by_source");
            String tag = null;
            for (ZoneSnapshot.Series s : z.series) {
                if (!s.tag.equals(tag)) {
                    if (tag != null) {
                        g.writeEndObject();
                        g.writeEndObject();
                    }
                    tag = s.tag;
                    g.writeObjectFieldStart(tag);
                    g.writeObjectFieldStart("vips");
                }
                g.writeObjectFieldStart(s.vip);
                g.writeNumberField("rate_1s", s.rate1s);
                g.writeNumberField("rate_10s", s.rate10s);
                g.writeNumberField("rate_60s", s.rate60s);
                g.writeObjectFieldStart("codes");
                for (int k = s.codeFrom; k < s.codeTo; k++) {
                    g.writeObjectFieldStart(z.codeLabel(k));
                    g.writeNumberField("requests", z.codeRequests[k]);
                    g.writeNumberField("bytes_in", z.codeBytesIn[k]);
                    g.writeNumberField("bytes_out", z.codeBytesOut[k]);
                    g.writeEndObject();
                }
                g.writeEndObject();
                histogram(g, "request_duration_ms", z.boundsMs, s.duration);
                histogram(g, "upstream_response_ms", z.boundsMs, s.upstream);
                g.writeEndObject();
            }
            if (tag != null) {
                g.writeEndObject();
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeObjectFieldStart("meta");
            g.writeNumberField("zone_bytes_used", z.bytesUsed);
            g.writeNumberField("zone_bytes_total", z.bytesTotal);
            g.writeNumberField("zone_full_events", z.fullEvents);
            g.writeNumberField("ifindex_misses", z.ifindexMisses);
            g.writeNumberField("dropped_records", z.droppedRecords);
            g.writeEndObject();
            g.writeEndObject();
        }
    }

    private static void histogram(JsonGenerator g, String name, long[] boundsMs, ZoneSnapshot.Histogram h)
            throws IOException {
        g.writeObjectFieldStart(name);
        g.writeObjectFieldStart("buckets");
        for (int b = 0; b < boundsMs.length; b++) {
            g.writeNumberField(Long.toString(boundsMs[b]), h.cumulative[b]);
        }
        g.writeNumberField("+Inf", h.count());
        g.writeEndObject();
        g.writeNumberField("sum_ms", h.sumMs);
        g.writeNumberField("count", h.count());
        g.writeEndObject();
    }
}
