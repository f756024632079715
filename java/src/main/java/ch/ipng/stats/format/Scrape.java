package ch.ipng.stats.format;

import ch.ipng.stats.zone.SharedZone;
import io.prometheus.client.exporter.common.TextFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;

/**
 * One scrape: content negotiation, filters, rendering. The answer is
 * {@code <content-type> "\n" <body>} as bytes, what C splits and sends.
 * <ul>
 * <li>Accept contains {@code application/json}: JSON;</li>
 * <li>else Accept asks for {@code application/openmetrics-text}: OpenMetrics 1.0
 *     ({@link TextFormat#chooseContentType});</li>
 * <li>else Prometheus text 0.0.4.</li>
 * </ul>
 */
public final class Scrape {

    public static final String CONTENT_TYPE_JSON = "application/json";

    private Scrape() {
    }

    public static byte[] render(SharedZone zone, BuildInfo build, byte[] query, byte[] accept) throws IOException {
        String acceptText = accept == null ? null : new String(accept, StandardCharsets.ISO_8859_1);
        ZoneSnapshot snapshot = ZoneSnapshot.read(zone, ScrapeFilter.parse(query));
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        if (acceptText != null && acceptText.contains(CONTENT_TYPE_JSON)) {
            out.write((CONTENT_TYPE_JSON + "\n").getBytes(StandardCharsets.US_ASCII));
            JsonFormat.write(out, snapshot);
            return out.toByteArray();
        }
        String contentType = TextFormat.chooseContentType(acceptText);
        out.write((contentType + "\n").getBytes(StandardCharsets.US_ASCII));
        Writer writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
        PrometheusFormat.write(writer, snapshot, build,
            TextFormat.CONTENT_TYPE_OPENMETRICS_100.equals(contentType));
        writer.flush();
        return out.toByteArray();
    }
}
