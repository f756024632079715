package ch.ipng.stats.testing;

import ch.ipng.stats.layout.RecordDescriptor;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * What the stats process's JVM runs, without nginx: NativeBridge.start on
 * zones made as C makes them, a worker's records, the drain thread's first
 * passes, and a scrape of each format (plain, gzip, OpenMetrics, JSON). Run
 * with {@code -Xlog:class+load} it lists the classes the stats process
 * loads (bridge/classlist says how that list is made).
 */
public final class StatsProcessRun {

    private StatsProcessRun() {
    }

    public static void main(String[] args) throws Exception {
        ByteBuffer zone = TestZones.buffer(4 << 20);
        TestRings rings = new TestRings(4, 1024);
        long pid = Long.parseLong(new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/self/stat")),
            StandardCharsets.US_ASCII).split(" ")[0]);
        Class<?> bridge = Class.forName("ch.ipng.stats.bridge.NativeBridge");
        Method start = bridge.getMethod("start", ByteBuffer.class, ByteBuffer.class, long.class, long.class,
            long.class, int.class, String.class);
        Method scrape = bridge.getMethod("scrape", byte[].class, byte[].class, byte[].class);
        TestZones.putTag(zone, 0, "mg1");
        TestZones.putTag(zone, 1, "direct");
        Object err = start.invoke(null, zone, rings.buffer, RecordDescriptor.LAYOUT_SIGNATURE, pid, 1L, 10, "1.26.0");
        if (err != null) {
            throw new IllegalStateException((String) err);
        }
        rings.claim(0, pid, 0);
        for (int i = 0; i < 500; i++) {
            rings.publish(0, i % 2, i % 3 == 0 ? "2001:db8::" + (i % 7 + 1) : "192.0.2." + (i % 9), 200 + i % 5,
                100, 1000, i % 300, i % 4 == 0 ? 3 : -1);
        }
        Thread.sleep(1500);                 // the drain thread's passes and a tick
        byte[][] accepts = {null, null, "application/openmetrics-text".getBytes(StandardCharsets.US_ASCII),
            "application/json".getBytes(StandardCharsets.US_ASCII)};
        byte[] gzip = "gzip".getBytes(StandardCharsets.US_ASCII);
        for (int k = 0; k < accepts.length; k++) {
            if (scrape.invoke(null, null, accepts[k], k == 1 ? gzip : null) == null) {
                throw new IllegalStateException("scrape " + k + " failed");
            }
        }
        rings.close(0);
        Thread.sleep(100);
    }
}
