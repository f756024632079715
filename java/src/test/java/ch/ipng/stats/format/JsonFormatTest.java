package ch.ipng.stats.format;

import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.testing.TestAggregator;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.SharedZone;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonFormatTest {

    /** Parses a JSON document into maps/lists/longs/doubles/strings with jackson-core's parser. */
    private static Object parse(byte[] json) throws IOException {
        try (JsonParser p = new JsonFactory().createParser(json)) {
            p.nextToken();
            Object v = value(p);
            assertNull(p.nextToken(), "one document only");
            return v;
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
                    assertNull(m.put(name, value(p)), "duplicate key " + name);
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
                return p.getLongValue();
            case VALUE_NUMBER_FLOAT:
                return p.getDoubleValue();
            case VALUE_STRING:
                return p.getText();
            default:
                throw new AssertionError("unexpected " + t);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o, String... path) {
        for (String key : path) {
            o = ((Map<String, Object>) o).get(key);
            assertNotNull(o, "missing " + key);
        }
        return (Map<String, Object>) o;
    }

    private static Object json(SharedZone z, String query) throws IOException {
        byte[] out = Scrape.render(z, PrometheusFormatTest.BUILD, query == null ? null : query.getBytes(),
            "application/json, text/plain;q=0.5".getBytes());
        String s = new String(out, StandardCharsets.UTF_8);
        int nl = s.indexOf('\n');
        assertEquals("application/json", s.substring(0, nl));
        return parse(s.substring(nl + 1).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void carriesEveryValueOfTheSmallZone() throws IOException {
        Object doc = json(PrometheusFormatTest.smallZone(), null);
        assertEquals(1L, map(doc).get("schema"));
        Map<String, Object> vip = map(doc, "by_source", "mg1", "vips", "192.0.2.10");
        assertEquals(0.0, vip.get("rate_1s"));
        assertEquals(0.0, vip.get("rate_10s"));
        assertEquals(0.0, vip.get("rate_60s"));
        assertEquals(Map.of("requests", 2L, "bytes_in", 300L, "bytes_out", 3000L), map(vip, "codes", "200"));
        assertEquals(Map.of("requests", 1L, "bytes_in", 50L, "bytes_out", 300L), map(vip, "codes", "404"));
        Map<String, Object> d = map(vip, "request_duration_ms");
        assertEquals(List.of("5", "50", "+Inf"), new ArrayList<>(map(d, "buckets").keySet()));
        assertEquals(Map.of("5", 2L, "50", 2L, "+Inf", 3L), map(d, "buckets"));
        assertEquals(78L, d.get("sum_ms"));
        assertEquals(3L, d.get("count"));
        Map<String, Object> u = map(vip, "upstream_response_ms");
        assertEquals(Map.of("5", 1L, "50", 1L, "+Inf", 1L), map(u, "buckets"));
        assertEquals(4L, u.get("sum_ms"));
        Map<String, Object> v6 = map(doc, "by_source", "mg1", "vips", "2001:db8::1");
        assertEquals(Map.of("5", 0L, "50", 0L, "+Inf", 1L), map(v6, "upstream_response_ms", "buckets"));
        assertEquals(Map.of("zone_bytes_used", 58736L, "zone_bytes_total", 135168L, "zone_full_events", 0L,
            "ifindex_misses", 0L, "dropped_records", 0L),
            map(doc, "meta"));
    }

    @Test
    void unknownFilterGivesAnEmptyValidDocument() throws IOException {
        Object doc = json(PrometheusFormatTest.smallZone(), "source_tag=nope&vip=%zz");
        assertEquals(Map.of(), map(doc, "by_source"));
        assertEquals(135168L, map(doc, "meta").get("zone_bytes_total"));
    }

    @Test
    void filtersBySourceAndVip() throws IOException {
        SharedZone z = TestZones.zone(1 << 20);
        TestAggregator a = new TestAggregator(z, new int[] {z.internTag("a"), z.internTag("b")});
        a.add(0, 4, 1, 0, 200, 1, 1, 1, false, 0);
        a.add(0, 4, 2, 0, 200, 1, 1, 1, false, 0);
        a.add(1, 4, 1, 0, 200, 1, 1, 1, false, 0);
        a.flush();
        Object doc = json(z, "source_tag=a&vip=1.0.0.0");
        assertEquals(List.of("a"), new ArrayList<>(map(doc, "by_source").keySet()));
        assertEquals(List.of("1.0.0.0"), new ArrayList<>(map(doc, "by_source", "a", "vips").keySet()));
    }

    @Test
    void escapesHostileTagsAndKeepsUtf8() throws IOException {
        String tag = "q\"b\\s\nn\u0001 é😀";
        SharedZone z = TestZones.zone(1 << 20);
        TestAggregator a = new TestAggregator(z, new int[] {z.internTag(tag)});
        a.add(0, 0, 0, 0, 200, 1, 1, 1, false, 0);
        a.flush();
        Object doc = json(z, null);
        assertEquals(List.of(tag), new ArrayList<>(map(doc, "by_source").keySet()));
        assertEquals(1L, map(doc, "by_source", tag, "vips", "unix", "codes", "200").get("requests"));
    }
}
