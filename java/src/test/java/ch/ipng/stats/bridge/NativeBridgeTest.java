package ch.ipng.stats.bridge;

import static ch.ipng.stats.layout.ZoneDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.layout.RecordDescriptor;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.SharedZone;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NativeBridgeTest {

    private static final byte[][] TAGS = {utf8("direct"), utf8("mg1")};
    /* the worker pid C passes; any value, the zone only records it */
    private static final long PID = 4242;

    @AfterEach
    void reset() {
        NativeBridge.reset();
    }

    private static ByteBuffer start(ByteBuffer zone, ByteBuffer records) {
        assertNull(NativeBridge.start(zone, records, 256, RecordDescriptor.LAYOUT_SIGNATURE, TAGS, 1, PID, "1.22.1"));
        return records;
    }

    private static String text(byte[] answer) {
        return new String(answer, StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /* modified UTF-8 (JNI's NewStringUTF) once merged these two flags into one tag */
    @Test
    void keepsTagsOutsideTheBasicPlaneApart() throws Exception {
        ByteBuffer zone = TestZones.buffer(1 << 20);
        byte[][] tags = {utf8("direct"), utf8("a\uD83C\uDDE8\uD83C\uDDED"), utf8("a\uD83C\uDDE9\uD83C\uDDEA")};
        assertNull(NativeBridge.start(zone, TestZones.records(256), 256, RecordDescriptor.LAYOUT_SIGNATURE, tags, 0,
            PID, "1.22.1"));
        assertEquals(3, zone.getLong(TAGS_USED_OFFSET));
        SharedZone z = SharedZone.open(zone);
        assertNotEquals(z.internTag("a\uD83C\uDDE8\uD83C\uDDED"), z.internTag("a\uD83C\uDDE9\uD83C\uDDEA"));
        assertEquals(3, zone.getLong(TAGS_USED_OFFSET));
    }

    @Test
    void refusesATagThatIsNotUtf8() {
        byte[][] tags = {utf8("direct"), {'a', (byte) 0xff, 'b'}};
        String err = NativeBridge.start(TestZones.buffer(1 << 20), TestZones.records(256), 256,
            RecordDescriptor.LAYOUT_SIGNATURE, tags, 0, PID, "1.22.1");
        assertNotNull(err);
        assertTrue(err.contains("source tag is not valid UTF-8: [97, -1, 98]"), err);
    }

    @Test
    void hasExactlyTheJniSignaturesOfTheContract() throws Exception {
        Class<?> c = NativeBridge.class;
        assertEquals(String.class, c.getMethod("start", ByteBuffer.class, ByteBuffer.class, int.class, long.class,
            byte[][].class, int.class, long.class, String.class).getReturnType());
        assertEquals(int.class, c.getMethod("drain", int.class).getReturnType());
        assertEquals(int.class, c.getMethod("tick", int.class).getReturnType());
        assertEquals(byte[].class, c.getMethod("scrape", int.class, byte[].class, byte[].class).getReturnType());
        assertEquals(int.class, c.getMethod("scrapeBegin", int.class, byte[].class, byte[].class, byte[].class).getReturnType());
        assertEquals(int.class, c.getMethod("scrapeEnd", int.class).getReturnType());
        assertEquals(int.class, c.getMethod("exit", int.class).getReturnType());
        assertEquals(String.class, c.getMethod("lastError").getReturnType());
        for (Method m : c.getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers())) {
                assertTrue(Modifier.isStatic(m.getModifiers()), m.getName());
            }
        }
    }

    /**
     * The classes a worker's start() loads use no lambda or method reference:
     * each first use spins a class through LambdaMetafactory, which cost the
     * JVM start ~15 ms (README, Performance). A class that uses one names
     * LambdaMetafactory in its constant pool.
     */
    @Test
    void theStartPathSpinsNoLambdaClasses() throws Exception {
        List<Class<?>> loaded = new ArrayList<>(List.of(NativeBridge.class,
            ch.ipng.stats.format.ByteSink.class, ch.ipng.stats.format.BuildInfo.class, SharedZone.class,
            ch.ipng.stats.zone.ZoneGeometry.class, ch.ipng.stats.zone.ZoneHash.class,
            ch.ipng.stats.aggregate.Aggregator.class));
        loaded.addAll(List.of(NativeBridge.class.getDeclaredClasses()));
        for (Class<?> c : loaded) {
            String file = "/" + c.getName().replace('.', '/') + ".class";
            try (java.io.InputStream in = c.getResourceAsStream(file)) {
                String bytes = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                assertFalse(bytes.contains("LambdaMetafactory"), c.getName() + " uses a lambda");
            }
        }
        assertTrue(loaded.size() > 8, loaded.toString());
    }

    @Test
    void rejectsLayoutSignatureMismatch() {
        String err = NativeBridge.start(TestZones.buffer(1 << 20), TestZones.records(256), 256,
            RecordDescriptor.LAYOUT_SIGNATURE + 1, TAGS, 0, PID, "1.22.1");
        assertNotNull(err);
        assertTrue(err.contains("record layout mismatch"), err);
        assertEquals(err, NativeBridge.lastError());
    }

    @Test
    void rejectsAZoneItDoesNotUnderstandWithoutWritingIt() {
        ByteBuffer zone = TestZones.buffer(1 << 20);
        zone.putInt(LAYOUT_VERSION_OFFSET, 9);
        String err = NativeBridge.start(zone, TestZones.records(256), 256, RecordDescriptor.LAYOUT_SIGNATURE,
            TAGS, 0, PID, "1.22.1");
        assertEquals("zone layout version is 9, this jar speaks 2", err);
        assertEquals(0, zone.getLong(TAGS_USED_OFFSET));
        assertEquals(0, zone.getLong(TAG_TABLE_OFFSET));
    }

    @Test
    void callsBeforeStartFailWithAMessageInsteadOfThrowing() {
        assertEquals(-1, NativeBridge.drain(1));
        assertEquals(-1, NativeBridge.tick(0));
        assertNull(NativeBridge.scrape(0, null, null));
        assertEquals(-1, NativeBridge.exit(0));
        assertTrue(NativeBridge.lastError().contains("start"));
    }

    @Test
    void rejectsCountsOutsideTheRecordBuffer() {
        start(TestZones.buffer(1 << 20), TestZones.records(256));
        assertEquals(-1, NativeBridge.drain(257));
        assertEquals(-1, NativeBridge.drain(-1));
        assertFalse(NativeBridge.lastError().contains("\n"));
        assertEquals(0, NativeBridge.drain(0));
    }

    @Test
    void scrapeDrainsFlushesAndRendersPrometheusText() {
        ByteBuffer zone = TestZones.buffer(1 << 20);
        ByteBuffer records = start(zone, TestZones.records(256));
        TestZones.record(records, 0, 1, "192.0.2.1", 200, 10, 20, 3, -1);
        TestZones.record(records, 1, 1, "192.0.2.1", 200, 10, 20, 3, -1);
        assertEquals(0, NativeBridge.drain(2));
        TestZones.record(records, 0, 0, "::1", 503, 1, 2, 3, 2);
        String out = text(NativeBridge.scrape(1, null, null));
        assertTrue(out.startsWith("text/plain; version=0.0.4; charset=utf-8\n# HELP "), out);
        assertTrue(out.contains("nginx_ipng_requests_total{source_tag=\"mg1\",vip=\"192.0.2.1\",code=\"200\",} 2.0\n"));
        assertTrue(out.contains("nginx_ipng_requests_total{source_tag=\"direct\",vip=\"::1\",code=\"503\",} 1.0\n"));
        assertTrue(out.contains("nginx_ipng_flushes_total{worker=\"1\",} 1.0\n"));
        assertTrue(out.contains("nginx_ipng_build_info{version=\"0.1.0\",nginx_version=\"1.22.1\",java_version=\""));
        String again = text(NativeBridge.scrape(0, "source_tag=direct".getBytes(), null));
        assertTrue(again.contains("nginx_ipng_scrape_duration_seconds_count 1.0\n"));
        assertFalse(again.contains("mg1"));
    }

    @Test
    void scrapeBeginDrainsOnTheCallerAndRendersOnTheRenderThread() throws Exception {
        ByteBuffer records = start(TestZones.buffer(1 << 20), TestZones.records(256));
        java.util.concurrent.BlockingQueue<Integer> finished = new java.util.concurrent.LinkedBlockingQueue<>();
        java.util.concurrent.atomic.AtomicReference<String> thread = new java.util.concurrent.atomic.AtomicReference<>();
        java.io.ByteArrayOutputStream collected = new java.io.ByteArrayOutputStream();
        NativeBridge.done = t -> {
            thread.set(Thread.currentThread().getName());
            finished.add(t);
        };
        NativeBridge.answer = (b, len) -> collected.write(b, 0, len);
        try {
            TestZones.record(records, 0, 1, "192.0.2.1", 404, 10, 20, 3, -1);
            int t = NativeBridge.scrapeBegin(1, null, "application/json".getBytes(), null);
            assertTrue(t > 0, NativeBridge.lastError());
            assertEquals(t, finished.poll(30, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals("ipng-render", thread.get());
            String out = collected.toString(StandardCharsets.UTF_8);
            assertEquals(out.length(), NativeBridge.scrapeEnd(t), "the length of what C was handed");
            assertTrue(out.startsWith("application/json\n"), out);
            assertTrue(out.contains("\"404\":{\"requests\":1,"), out);
            assertTrue(out.endsWith("}"), out);
            assertEquals(-1, NativeBridge.scrapeEnd(t), "an answer is collected once");

            collected.reset();
            int t2 = NativeBridge.scrapeBegin(0, "source_tag=none".getBytes(), "application/json".getBytes(), null);
            assertEquals(t2, finished.poll(30, java.util.concurrent.TimeUnit.SECONDS));
            String shorter = collected.toString(StandardCharsets.UTF_8);
            assertEquals(shorter.length(), NativeBridge.scrapeEnd(t2));
            assertTrue(shorter.startsWith("application/json\n{\"schema\":1,\"by_source\":{},\"meta\":"), shorter);
            assertTrue(shorter.endsWith("}"), shorter);
        } finally {
            NativeBridge.done = t -> { };
        }
    }

    @Test
    void aLargeAnswerReachesCInChunksAndWhole() throws Exception {
        ByteBuffer records = TestZones.records(4096);
        assertNull(NativeBridge.start(TestZones.buffer(4 << 20), records, 4096, RecordDescriptor.LAYOUT_SIGNATURE,
            TAGS, 1, PID, "1.22.1"));
        java.util.concurrent.BlockingQueue<Integer> finished = new java.util.concurrent.LinkedBlockingQueue<>();
        java.util.List<Integer> chunks = new java.util.ArrayList<>();
        java.io.ByteArrayOutputStream collected = new java.io.ByteArrayOutputStream();
        NativeBridge.done = finished::add;
        NativeBridge.answer = (b, len) -> {
            chunks.add(len);
            collected.write(b, 0, len);
        };
        try {
            for (int i = 0; i < 4096; i++) {
                TestZones.record(records, i, 1, "192.0." + (i >> 8) + "." + (i & 255), 200 + i % 5, 10, 20, 3, -1);
            }
            int t = NativeBridge.scrapeBegin(4096, null, null, null);
            assertTrue(t > 0, NativeBridge.lastError());
            assertEquals(t, finished.poll(30, java.util.concurrent.TimeUnit.SECONDS));
            String direct = text(NativeBridge.scrape(0, null, null));
            int len = NativeBridge.scrapeEnd(t);
            assertEquals(collected.size(), len);
            assertTrue(chunks.size() > 2, chunks.toString());
            assertTrue(chunks.stream().allMatch(n -> n <= NativeBridge.CHUNK), chunks.toString());
            // the same text as the one-call scrape, up to the self-metrics that the second scrape changed
            String handed = collected.toString(StandardCharsets.UTF_8);
            String series = "nginx_ipng_requests_total{source_tag=\"mg1\",vip=\"192.0.15.255\",code=\"200\",} 1.0\n";
            assertTrue(handed.contains(series) && direct.contains(series), series);
            assertEquals(perKey(direct), perKey(handed));
        } finally {
            NativeBridge.done = t -> { };
        }
    }

    /** The lines with a vip label: what the second scrape did not change. */
    private static java.util.List<String> perKey(String answer) {
        return answer.lines().filter(l -> l.contains("vip=")).collect(java.util.stream.Collectors.toList());
    }

    @Test
    void scrapeAnswersJsonWhenAsked() {
        start(TestZones.buffer(1 << 20), TestZones.records(256));
        String out = text(NativeBridge.scrape(0, null, "application/json".getBytes()));
        assertTrue(out.startsWith("application/json\n{\"schema\":1,\"by_source\":{}"), out);
    }

    @Test
    void tickAdvancesRatesOnTheInjectedClock() {
        AtomicLong now = new AtomicLong(1_000);
        NativeBridge.setClock(now::get);
        ByteBuffer zone = TestZones.buffer(1 << 20);
        ByteBuffer records = start(zone, TestZones.records(256));
        assertEquals(0, NativeBridge.tick(0));
        for (int i = 0; i < 10; i++) {
            TestZones.record(records, i, 1, "192.0.2.1", 200, 0, 0, 1, -1);
        }
        now.set(1_001);
        assertEquals(0, NativeBridge.tick(10));
        String out = text(NativeBridge.scrape(0, null, null));
        assertTrue(out.contains("nginx_ipng_rate_1s{source_tag=\"mg1\",vip=\"192.0.2.1\",} "
            + (10 * (1 - Math.exp(-1))) + "\n"), out);
        assertEquals(1_001, zone.getLong(RATE_TICK_SECOND_OFFSET));
    }

    @Test
    void exitFlushesWhatIsLeft() {
        ByteBuffer zone = TestZones.buffer(1 << 20);
        ByteBuffer records = start(zone, TestZones.records(256));
        TestZones.record(records, 0, 0, "192.0.2.1", 200, 0, 0, 1, -1);
        assertEquals(0, NativeBridge.exit(1));
        assertEquals(1, zone.getLong(CODE_KEYS_USED_OFFSET));
        assertEquals(PID, zone.getLong(WORKER_TABLE_OFFSET + WORKER_ENTRY_LENGTH
            + WORKER_PID_OFFSET));
    }
}
