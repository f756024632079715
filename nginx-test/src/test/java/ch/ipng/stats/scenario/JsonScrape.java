package ch.ipng.stats.scenario;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A JSON scrape parsed back (strictly: a syntax error or a duplicate key
 * throws) and flattened into the same keys as {@link #flatten(Scrape)} makes
 * of the Prometheus text, so both can be compared number for number.
 */
final class JsonScrape {

    private static final JsonFactory FACTORY = new JsonFactory()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    final Map<String, Object> root;

    JsonScrape(byte[] body) {
        this.root = parse(body);
    }

    /** Parses a whole document (one object, nothing after it); throws AssertionError if invalid. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> parse(byte[] body) {
        try (JsonParser p = FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new AssertionError("JSON does not start with an object");
            }
            Object v = value(p);
            if (p.nextToken() != null) {
                throw new AssertionError("JSON has trailing content");
            }
            return (Map<String, Object>) v;
        } catch (IOException e) {
            throw new AssertionError("invalid JSON: " + e.getMessage(), e);
        }
    }

    private static Object value(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    m.put(name, value(p));
                }
                return m;
            }
            case START_ARRAY: {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(value(p));
                }
                return l;
            }
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                return p.getNumberValue();
            case VALUE_STRING:
                return p.getText();
            case VALUE_TRUE:
                return true;
            case VALUE_FALSE:
                return false;
            case VALUE_NULL:
                return null;
            default:
                throw new AssertionError("unexpected JSON token " + t);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> obj(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Map)) {
            throw new AssertionError("JSON: \"" + key + "\" is not an object: " + v);
        }
        return (Map<String, Object>) v;
    }

    static double num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Number)) {
            throw new AssertionError("JSON: \"" + key + "\" is not a number: " + v);
        }
        return ((Number) v).doubleValue();
    }

    int schema() {
        return (int) num(root, "schema");
    }

    /** by_source -> tag -> vips -> vip. */
    Map<String, Object> vips(String tag) {
        return obj(obj(obj(root, "by_source"), tag), "vips");
    }

    /** Every number of the document under a flat key ({@link #flatten(Scrape)}'s keys). */
    Map<String, Double> flatten() {
        Map<String, Double> out = new TreeMap<>();
        Map<String, Object> bySource = obj(root, "by_source");
        for (String tag : bySource.keySet()) {
            Map<String, Object> vips = obj(obj(bySource, tag), "vips");
            for (String vip : vips.keySet()) {
                Map<String, Object> v = obj(vips, vip);
                String tv = tag + "|" + vip;
                out.put("rate_1s|" + tv, num(v, "rate_1s"));
                out.put("rate_10s|" + tv, num(v, "rate_10s"));
                out.put("rate_60s|" + tv, num(v, "rate_60s"));
                Map<String, Object> codes = obj(v, "codes");
                for (String code : codes.keySet()) {
                    Map<String, Object> c = obj(codes, code);
                    out.put("requests|" + tv + "|" + code, num(c, "requests"));
                    out.put("bytes_in|" + tv + "|" + code, num(c, "bytes_in"));
                    out.put("bytes_out|" + tv + "|" + code, num(c, "bytes_out"));
                }
                histogram(out, "duration", tv, obj(v, "request_duration_ms"), true);
                histogram(out, "upstream", tv, obj(v, "upstream_response_ms"), false);
            }
        }
        Map<String, Object> meta = obj(root, "meta");
        out.put("zone_bytes_used", num(meta, "zone_bytes_used"));
        out.put("zone_bytes_total", num(meta, "zone_bytes_total"));
        out.put("zone_full_events", num(meta, "zone_full_events"));
        return out;
    }

    private static void histogram(Map<String, Double> out, String name, String tv, Map<String, Object> h,
                                  boolean always) {
        double count = num(h, "count");
        if (count == 0 && !always) {
            return; // the text format leaves out an empty upstream histogram
        }
        Map<String, Object> buckets = obj(h, "buckets");
        for (String le : buckets.keySet()) {
            out.put(name + "_bucket|" + tv + "|" + le, num(buckets, le));
        }
        out.put(name + "_count|" + tv, count);
        out.put(name + "_sum_ms|" + tv, num(h, "sum_ms"));
    }

    /** The same flat keys from a Prometheus text (or OpenMetrics) scrape. */
    static Map<String, Double> flatten(Scrape s) {
        Map<String, Double> out = new TreeMap<>();
        for (Scrape.Sample x : s.samples) {
            String tv = x.label("source_tag") + "|" + x.label("vip");
            switch (x.name()) {
                case "nginx_ipng_requests_total" -> out.put("requests|" + tv + "|" + x.label("code"), x.value());
                case "nginx_ipng_bytes_in_total" -> out.put("bytes_in|" + tv + "|" + x.label("code"), x.value());
                case "nginx_ipng_bytes_out_total" -> out.put("bytes_out|" + tv + "|" + x.label("code"), x.value());
                case "nginx_ipng_rate_1s" -> out.put("rate_1s|" + tv, x.value());
                case "nginx_ipng_rate_10s" -> out.put("rate_10s|" + tv, x.value());
                case "nginx_ipng_rate_60s" -> out.put("rate_60s|" + tv, x.value());
                case "nginx_ipng_request_duration_seconds_bucket" ->
                    out.put("duration_bucket|" + tv + "|" + leMs(x.label("le")), x.value());
                case "nginx_ipng_request_duration_seconds_count" -> out.put("duration_count|" + tv, x.value());
                case "nginx_ipng_request_duration_seconds_sum" ->
                    out.put("duration_sum_ms|" + tv, (double) Math.round(x.value() * 1000));
                case "nginx_ipng_upstream_response_seconds_bucket" ->
                    out.put("upstream_bucket|" + tv + "|" + leMs(x.label("le")), x.value());
                case "nginx_ipng_upstream_response_seconds_count" -> out.put("upstream_count|" + tv, x.value());
                case "nginx_ipng_upstream_response_seconds_sum" ->
                    out.put("upstream_sum_ms|" + tv, (double) Math.round(x.value() * 1000));
                case "nginx_ipng_zone_bytes_used" -> out.put("zone_bytes_used", x.value());
                case "nginx_ipng_zone_size_bytes", "nginx_ipng_zone_bytes_total" ->
                    out.put("zone_bytes_total", x.value());
                case "nginx_ipng_zone_full_events_total" -> out.put("zone_full_events", x.value());
                default -> {
                    // self-metrics and build_info have no JSON counterpart
                }
            }
        }
        return out;
    }

    private static String leMs(String le) {
        return le.equals("+Inf") ? le : Long.toString(Math.round(Double.parseDouble(le) * 1000));
    }

    /** Differences between two flattened scrapes, one line each (empty: they agree). */
    static List<String> differences(Map<String, Double> a, Map<String, Double> b) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Double> e : a.entrySet()) {
            Double other = b.get(e.getKey());
            if (other == null) {
                out.add(e.getKey() + " only in the first (" + e.getValue() + ")");
            } else if (Double.compare(other, e.getValue()) != 0) {
                out.add(e.getKey() + ": " + e.getValue() + " != " + other);
            }
        }
        for (String k : b.keySet()) {
            if (!a.containsKey(k)) {
                out.add(k + " only in the second (" + b.get(k) + ")");
            }
        }
        return out;
    }

    /** The (tag|vip) pairs of a flattened scrape. */
    static java.util.Set<String> series(Map<String, Double> flat) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (String k : flat.keySet()) {
            if (k.startsWith("rate_1s|")) {
                out.add(k.substring("rate_1s|".length()));
            }
        }
        return out;
    }
}
