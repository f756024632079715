package ch.ipng.stats.format;

import static ch.ipng.stats.layout.ZoneDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.testing.TestAggregator;
import ch.ipng.stats.testing.TestRings;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.SharedZone;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PrometheusFormatTest {

    static final int LENGTH = 128 * 1024;
    static final int SHM = LENGTH + 4096;
    static final BuildInfo BUILD = new BuildInfo("0.1.0", "1.22.1", "17.0.15");

    /**
     * Tag "mg1", bounds 5 ms and 50 ms:
     * 192.0.2.10 200: 100/1000 bytes, 3 ms;  200: 200/2000 bytes, 5 ms, upstream 4 ms;
     *            404: 50/300 bytes, 70 ms;   2001:db8::1 200: 10/20 bytes, 50 ms, upstream 60 ms.
     * The worker table stays empty: flush timings would vary (TestAggregator records none).
     */
    static SharedZone smallZone() {
        ByteBuffer b = TestZones.buffer(LENGTH, SHM, STATUS_MODE_EXACT, 5, 50);
        SharedZone z = TestZones.open(b);
        TestAggregator a = new TestAggregator(z, new int[] {z.internTag("mg1")});
        ByteBuffer r = TestZones.records(4);
        TestZones.record(r, 0, 0, "2001:db8:0:0::1", 200, 10, 20, 50, 60);
        TestZones.record(r, 1, 0, "192.0.2.10", 200, 100, 1000, 3, -1);
        TestZones.record(r, 2, 0, "192.0.2.10", 404, 50, 300, 70, -1);
        TestZones.record(r, 3, 0, "192.0.2.10", 200, 200, 2000, 5, 4);
        a.drain(r, 4);
        a.flush();
        return z;
    }

    static String render(SharedZone z, ScrapeFilter f, boolean openMetrics) throws IOException {
        ByteSink out = new ByteSink(16);
        PrometheusFormat.write(out, ZoneSnapshot.read(z, f), BUILD, openMetrics);
        return out.toString();
    }

    private static final String SCRAPE_HISTOGRAM =
        "# HELP nginx_ipng_scrape_duration_seconds Duration of the scrape handler.\n"
        + "# TYPE nginx_ipng_scrape_duration_seconds histogram\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"1.0E-5\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"2.5E-5\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"5.0E-5\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"1.0E-4\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"2.5E-4\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"5.0E-4\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"0.001\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"0.0025\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"0.005\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"0.01\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"0.025\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"0.05\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"0.1\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"0.25\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"0.5\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_bucket{le=\"+Inf\",} 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_count 0.0\n"
        + "nginx_ipng_scrape_duration_seconds_sum 0.0\n";

    @Test
    void rendersTheSmallZoneExactly() throws IOException {
        String v4 = "source_tag=\"mg1\",vip=\"192.0.2.10\",";
        String v6 = "source_tag=\"mg1\",vip=\"2001:db8::1\",";
        // bytes used: nginx's 4096 + 54272 fixed + 2 series * 136 + 3 codes * 32 = 58736
        String expected = ""
            + "# HELP nginx_ipng_requests_total Requests per source tag, VIP and status code.\n"
            + "# TYPE nginx_ipng_requests_total counter\n"
            + "nginx_ipng_requests_total{" + v4 + "code=\"200\",} 2.0\n"
            + "nginx_ipng_requests_total{" + v4 + "code=\"404\",} 1.0\n"
            + "nginx_ipng_requests_total{" + v6 + "code=\"200\",} 1.0\n"
            + "# HELP nginx_ipng_bytes_in_total Request bytes received (request line, headers and body).\n"
            + "# TYPE nginx_ipng_bytes_in_total counter\n"
            + "nginx_ipng_bytes_in_total{" + v4 + "code=\"200\",} 300.0\n"
            + "nginx_ipng_bytes_in_total{" + v4 + "code=\"404\",} 50.0\n"
            + "nginx_ipng_bytes_in_total{" + v6 + "code=\"200\",} 10.0\n"
            + "# HELP nginx_ipng_bytes_out_total Response bytes sent (status line, headers and body).\n"
            + "# TYPE nginx_ipng_bytes_out_total counter\n"
            + "nginx_ipng_bytes_out_total{" + v4 + "code=\"200\",} 3000.0\n"
            + "nginx_ipng_bytes_out_total{" + v4 + "code=\"404\",} 300.0\n"
            + "nginx_ipng_bytes_out_total{" + v6 + "code=\"200\",} 20.0\n"
            + "# HELP nginx_ipng_request_duration_seconds Request duration.\n"
            + "# TYPE nginx_ipng_request_duration_seconds histogram\n"
            + "nginx_ipng_request_duration_seconds_bucket{" + v4 + "le=\"0.005\",} 2.0\n"
            + "nginx_ipng_request_duration_seconds_bucket{" + v4 + "le=\"0.05\",} 2.0\n"
            + "nginx_ipng_request_duration_seconds_bucket{" + v4 + "le=\"+Inf\",} 3.0\n"
            + "nginx_ipng_request_duration_seconds_count{" + v4 + "} 3.0\n"
            + "nginx_ipng_request_duration_seconds_sum{" + v4 + "} 0.078\n"
            + "nginx_ipng_request_duration_seconds_bucket{" + v6 + "le=\"0.005\",} 0.0\n"
            + "nginx_ipng_request_duration_seconds_bucket{" + v6 + "le=\"0.05\",} 1.0\n"
            + "nginx_ipng_request_duration_seconds_bucket{" + v6 + "le=\"+Inf\",} 1.0\n"
            + "nginx_ipng_request_duration_seconds_count{" + v6 + "} 1.0\n"
            + "nginx_ipng_request_duration_seconds_sum{" + v6 + "} 0.05\n"
            + "# HELP nginx_ipng_upstream_response_seconds Upstream response time (sum over upstream tries).\n"
            + "# TYPE nginx_ipng_upstream_response_seconds histogram\n"
            + "nginx_ipng_upstream_response_seconds_bucket{" + v4 + "le=\"0.005\",} 1.0\n"
            + "nginx_ipng_upstream_response_seconds_bucket{" + v4 + "le=\"0.05\",} 1.0\n"
            + "nginx_ipng_upstream_response_seconds_bucket{" + v4 + "le=\"+Inf\",} 1.0\n"
            + "nginx_ipng_upstream_response_seconds_count{" + v4 + "} 1.0\n"
            + "nginx_ipng_upstream_response_seconds_sum{" + v4 + "} 0.004\n"
            + "nginx_ipng_upstream_response_seconds_bucket{" + v6 + "le=\"0.005\",} 0.0\n"
            + "nginx_ipng_upstream_response_seconds_bucket{" + v6 + "le=\"0.05\",} 0.0\n"
            + "nginx_ipng_upstream_response_seconds_bucket{" + v6 + "le=\"+Inf\",} 1.0\n"
            + "nginx_ipng_upstream_response_seconds_count{" + v6 + "} 1.0\n"
            + "nginx_ipng_upstream_response_seconds_sum{" + v6 + "} 0.06\n"
            + "# HELP nginx_ipng_rate_1s EWMA requests per second, 1-second decay.\n"
            + "# TYPE nginx_ipng_rate_1s gauge\n"
            + "nginx_ipng_rate_1s{" + v4 + "} 0.0\n"
            + "nginx_ipng_rate_1s{" + v6 + "} 0.0\n"
            + "# HELP nginx_ipng_rate_10s EWMA requests per second, 10-second decay.\n"
            + "# TYPE nginx_ipng_rate_10s gauge\n"
            + "nginx_ipng_rate_10s{" + v4 + "} 0.0\n"
            + "nginx_ipng_rate_10s{" + v6 + "} 0.0\n"
            + "# HELP nginx_ipng_rate_60s EWMA requests per second, 60-second decay.\n"
            + "# TYPE nginx_ipng_rate_60s gauge\n"
            + "nginx_ipng_rate_60s{" + v4 + "} 0.0\n"
            + "nginx_ipng_rate_60s{" + v6 + "} 0.0\n"
            + "# HELP nginx_ipng_zone_bytes_used Shared-memory zone bytes currently allocated.\n"
            + "# TYPE nginx_ipng_zone_bytes_used gauge\n"
            + "nginx_ipng_zone_bytes_used 58736.0\n"
            + "# HELP nginx_ipng_zone_size_bytes Shared-memory zone capacity in bytes.\n"
            + "# TYPE nginx_ipng_zone_size_bytes gauge\n"
            + "nginx_ipng_zone_size_bytes 135168.0\n"
            + "# HELP nginx_ipng_zone_full_events_total Key insertions dropped because the zone was full.\n"
            + "# TYPE nginx_ipng_zone_full_events_total counter\n"
            + "nginx_ipng_zone_full_events_total 0.0\n"
            + "# HELP nginx_ipng_ifindex_misses_total Connections whose ingress interface matched no listen device (pktinfo mode).\n"
            + "# TYPE nginx_ipng_ifindex_misses_total counter\n"
            + "nginx_ipng_ifindex_misses_total 0.0\n"
            + "# HELP nginx_ipng_dropped_records_total Requests not counted because the worker's ring was full or the worker had no ring.\n"
            + "# TYPE nginx_ipng_dropped_records_total counter\n"
            + "nginx_ipng_dropped_records_total 0.0\n"
            + "# HELP nginx_ipng_flushes_total Flushes of worker-private counters into the zone.\n"
            + "# TYPE nginx_ipng_flushes_total counter\n"
            + "# HELP nginx_ipng_flush_duration_seconds Duration of the flushes into the zone.\n"
            + "# TYPE nginx_ipng_flush_duration_seconds histogram\n"
            + SCRAPE_HISTOGRAM
            + "# HELP nginx_ipng_build_info Versions of the module, nginx and the JVM; always 1.\n"
            + "# TYPE nginx_ipng_build_info gauge\n"
            + "nginx_ipng_build_info{version=\"0.1.0\",nginx_version=\"1.22.1\",java_version=\"17.0.15\",} 1.0\n";
        assertEquals(expected, render(smallZone(), ScrapeFilter.NONE, false));
    }

    @Test
    void unknownFilterGivesTheFamiliesWithoutSeries() throws IOException {
        String text = render(smallZone(), ScrapeFilter.parse("source_tag=nope".getBytes()), false);
        assertFalse(text.contains("mg1"));
        assertTrue(text.contains("# TYPE nginx_ipng_requests_total counter\n# HELP nginx_ipng_bytes_in_total"));
        assertTrue(text.contains("nginx_ipng_zone_size_bytes 135168.0\n"));
    }

    @Test
    void vipFilterKeepsOnlyThatVip() throws IOException {
        String text = render(smallZone(), ScrapeFilter.parse("vip=2001:db8:0::0:1".getBytes()), false);
        assertFalse(text.contains("192.0.2.10"));
        assertTrue(text.contains("nginx_ipng_requests_total{source_tag=\"mg1\",vip=\"2001:db8::1\",code=\"200\",} 1.0\n"));
    }

    @Test
    void escapesTagsInLabelValues() throws IOException {
        SharedZone z = TestZones.zone(LENGTH);
        TestAggregator a = new TestAggregator(z, new int[] {z.internTag("a\"b\\c\nd é")});
        a.add(0, 0, 0, 0, 200, 1, 1, 1, false, 0);
        a.flush();
        String text = render(z, ScrapeFilter.NONE, false);
        assertTrue(text.contains("nginx_ipng_requests_total{source_tag=\"a\\\"b\\\\c\\nd é\",vip=\"unix\",code=\"200\",} 1.0\n"),
            text);
    }

    @Test
    void openMetricsUsesFamilyNamesAndEndsWithEof() throws IOException {
        String text = render(smallZone(), ScrapeFilter.NONE, true);
        assertTrue(text.startsWith("# TYPE nginx_ipng_requests counter\n"));
        assertTrue(text.contains("nginx_ipng_requests_total{source_tag=\"mg1\",vip=\"192.0.2.10\",code=\"200\"} 2.0\n"));
        assertTrue(text.contains("# TYPE nginx_ipng_zone_full_events counter\n"));
        assertTrue(text.endsWith("# EOF\n"));
    }

    @Test
    void flushSelfMetricsCarryTheWorkerNumber() throws IOException {
        SharedZone z = TestZones.zone(LENGTH);
        TestRings.flushes(z, 5, 2);
        z.recordScrape(2_000_000);
        String text = render(z, ScrapeFilter.NONE, false);
        assertTrue(text.contains("nginx_ipng_flushes_total{worker=\"5\",} 2.0\n"), text);
        assertTrue(text.contains("nginx_ipng_flush_duration_seconds_count{worker=\"5\",} 2.0\n"));
        assertTrue(text.contains("nginx_ipng_flush_duration_seconds_bucket{worker=\"5\",le=\"+Inf\",} 2.0\n"));
        assertTrue(text.contains("nginx_ipng_scrape_duration_seconds_bucket{le=\"0.001\",} 0.0\n"));
        assertTrue(text.contains("nginx_ipng_scrape_duration_seconds_bucket{le=\"0.0025\",} 1.0\n"));
        assertTrue(text.contains("nginx_ipng_scrape_duration_seconds_sum 0.002\n"));
    }

    /** The workers' drops: those the stats process moved into the zone and those still in the rings. */
    @Test
    void droppedRecordsAreTheZonesAndTheRingsDrops() throws IOException {
        SharedZone z = smallZone();
        z.add(DROPPED_RECORDS_OFFSET, 5);
        ByteSink out = new ByteSink(16);
        Scrape.render(out, null, z, 7, BUILD, null, null, null);
        assertTrue(out.toString().contains("\nnginx_ipng_dropped_records_total 12.0\n"), out.toString());
        out.reset();
        Scrape.render(out, null, z, 7, BUILD, null, "application/json".getBytes(StandardCharsets.US_ASCII), null);
        assertTrue(out.toString().contains("\"ifindex_misses\":0,\"dropped_records\":12}"), out.toString());
        assertTrue(render(z, ScrapeFilter.NONE, true).contains(
            "# TYPE nginx_ipng_dropped_records counter\n"
            + "# HELP nginx_ipng_dropped_records Requests not counted because the worker's ring was full or the"
            + " worker had no ring.\nnginx_ipng_dropped_records_total 5.0\n"));
    }

    @Test
    void renderIsUtf8Bytes() throws IOException {
        byte[] out = Scrape.render(smallZone(), BUILD, null, null);
        String s = new String(out, StandardCharsets.UTF_8);
        assertTrue(s.startsWith("text/plain; version=0.0.4; charset=utf-8\n# HELP nginx_ipng_requests_total"));
        byte[] om = Scrape.render(smallZone(), BUILD, null,
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5".getBytes());
        assertTrue(new String(om, StandardCharsets.UTF_8)
            .startsWith("application/openmetrics-text; version=1.0.0; charset=utf-8\n# TYPE"));
    }
}
