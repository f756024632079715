package ch.ipng.stats.bridge;

import static ch.ipng.stats.layout.ZoneDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import ch.ipng.stats.drain.Consumer;
import ch.ipng.stats.layout.RecordDescriptor;
import ch.ipng.stats.layout.RingDescriptor;
import ch.ipng.stats.testing.TestRings;
import ch.ipng.stats.testing.TestZones;
import ch.ipng.stats.zone.Journal;
import ch.ipng.stats.zone.SharedZone;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NativeBridgeTest {

    /* this JVM: the stats process, and the workers owning the rings (alive) */
    private static final long PID = ProcessHandle.current().pid();
    /* the drain thread's interval when a test wants the scrape to do the draining */
    private static final int IDLE = 600_000;

    private final ByteBuffer zone = TestZones.buffer(1 << 20);
    private final TestRings rings = new TestRings(4, 64);

    /* the tags the master interned: source ids 0 and 1 */
    @BeforeEach
    void tags() {
        TestZones.putTag(zone, 0, "direct");
        TestZones.putTag(zone, 1, "mg1");
        NativeBridge.setFutex(rings.futex());
    }

    @AfterEach
    void reset() throws InterruptedException {
        NativeBridge.reset();
    }

    private void start(int pollMillis) {
        assertNull(NativeBridge.start(zone, rings.buffer, RecordDescriptor.LAYOUT_SIGNATURE, PID, 1, pollMillis,
            "1.22.1"));
    }

    private static String text(byte[] answer) {
        assertNotNull(answer, NativeBridge.lastError());
        return new String(answer, StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Waits for a condition the drain thread brings about (30 s at most). */
    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(1);
        }
    }

    @Test
    void hasExactlyTheJniSignaturesOfTheContract() throws Exception {
        Class<?> c = NativeBridge.class;
        assertEquals(String.class, c.getMethod("start", ByteBuffer.class, ByteBuffer.class, long.class,
            long.class, long.class, int.class, String.class).getReturnType());
        assertEquals(byte[].class, c.getMethod("scrape", byte[].class, byte[].class, byte[].class).getReturnType());
        assertEquals(String.class, c.getMethod("lastError").getReturnType());
        List<String> published = new ArrayList<>();
        for (Method m : c.getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers())) {
                assertTrue(Modifier.isStatic(m.getModifiers()), m.getName());
                published.add(m.getName());
            }
            assertFalse(Modifier.isNative(m.getModifiers()), "C needs no callbacks: " + m.getName());
        }
        published.sort(null);
        assertEquals(List.of("lastError", "scrape", "start"), published);
    }

    /* a record's source id is the index of its tag in the zone, for any generation of workers */
    @Test
    void aSourceIdIsTheIndexOfItsTagInTheZone() {
        TestZones.putTag(zone, 200, "a\uD83C\uDDE8\uD83C\uDDED");
        TestZones.putTag(zone, 201, "a\uD83C\uDDE9\uD83C\uDDEA");
        start(IDLE);
        rings.claim(0, PID, 0);
        rings.publish(0, 200, "192.0.2.1", 200, 1, 2, 3, -1);
        rings.publish(0, 201, "192.0.2.1", 200, 1, 2, 3, -1);
        rings.publish(0, 201, "192.0.2.1", 200, 1, 2, 3, -1);
        String out = text(NativeBridge.scrape(null, null, null));
        assertTrue(out.contains("nginx_ipng_requests_total{source_tag=\"a\uD83C\uDDE8\uD83C\uDDED\",vip=\"192.0.2.1\","
            + "code=\"200\",} 1.0\n"), out);
        assertTrue(out.contains("nginx_ipng_requests_total{source_tag=\"a\uD83C\uDDE9\uD83C\uDDEA\",vip=\"192.0.2.1\","
            + "code=\"200\",} 2.0\n"), out);
    }

    /**
     * The classes the stats process's start() loads use no lambda or method
     * reference: each first use spins a class through LambdaMetafactory,
     * which costs the JVM start milliseconds. A class that uses one names
     * LambdaMetafactory in its constant pool.
     */
    @Test
    void theStartPathSpinsNoLambdaClasses() throws Exception {
        List<Class<?>> loaded = new ArrayList<>(List.of(NativeBridge.class, ch.ipng.stats.format.ByteSink.class,
            ch.ipng.stats.format.BuildInfo.class, SharedZone.class, ch.ipng.stats.zone.ZoneGeometry.class,
            ch.ipng.stats.zone.ZoneHash.class, ch.ipng.stats.aggregate.Aggregator.class, Journal.class,
            ch.ipng.stats.drain.Rings.class, Consumer.class, ch.ipng.stats.drain.Liveness.class,
            ch.ipng.stats.drain.Poller.class, ch.ipng.stats.drain.RingWait.class,
            ch.ipng.stats.drain.RingWait.NativeFutex.class, Class.forName("ch.ipng.stats.drain.ProcessLock")));
        loaded.addAll(List.of(NativeBridge.class.getDeclaredClasses()));
        for (Class<?> c : loaded) {
            String file = "/" + c.getName().replace('.', '/') + ".class";
            try (java.io.InputStream in = c.getResourceAsStream(file)) {
                String bytes = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                assertFalse(bytes.contains("LambdaMetafactory"), c.getName() + " uses a lambda");
            }
        }
        assertTrue(loaded.size() > 16, loaded.toString());
    }

    @Test
    void rejectsLayoutSignatureMismatch() {
        String err = NativeBridge.start(zone, rings.buffer, RecordDescriptor.LAYOUT_SIGNATURE + 1, PID, 1, IDLE,
            "1.22.1");
        assertNotNull(err);
        assertTrue(err.contains("record layout mismatch"), err);
        assertEquals(err, NativeBridge.lastError());
    }

    @Test
    void rejectsAZoneItDoesNotUnderstandWithoutWritingIt() {
        zone.putInt(LAYOUT_VERSION_OFFSET, 9);
        ByteBuffer before = ByteBuffer.allocate(zone.capacity()).put(zone.duplicate().clear()).flip();
        String err = NativeBridge.start(zone, rings.buffer, RecordDescriptor.LAYOUT_SIGNATURE, PID, 1, IDLE,
            "1.22.1");
        assertEquals("zone layout version is 9, this jar speaks 2", err);
        assertEquals(before, zone.duplicate().clear(), "the zone is as it was");
    }

    @Test
    void rejectsRingsItDoesNotUnderstand() {
        rings.buffer.putInt(RingDescriptor.RING_CAPACITY_OFFSET, 100);
        String err = NativeBridge.start(zone, rings.buffer, RecordDescriptor.LAYOUT_SIGNATURE, PID, 1, IDLE,
            "1.22.1");
        assertEquals("rings zone ring capacity is 100, not a power of two", err);
        assertEquals(0, rings.lock(), "LOCK untouched");
    }

    @Test
    void refusesASecondStartAndABadPollInterval() {
        assertEquals("poll interval of 0 ms", NativeBridge.start(zone, rings.buffer, RecordDescriptor.LAYOUT_SIGNATURE,
            PID, 1, 0, "1.22.1"));
        start(IDLE);
        assertEquals("already started", NativeBridge.start(zone, rings.buffer, RecordDescriptor.LAYOUT_SIGNATURE,
            PID, 1, IDLE, "1.22.1"));
    }

    /** A stats process that holds LOCK and hangs: start waits (10 s; here 1), then says who holds it. */
    @Test
    void startFailsWhenALiveProcessKeepsTheLock() {
        assertEquals(10, NativeBridge.LOCK_SECONDS);
        NativeBridge.setLockSeconds(1);
        rings.buffer.putLong(RingDescriptor.LOCK_OFFSET, 4242);
        NativeBridge.setLiveness(pid -> true);
        long t0 = System.nanoTime();
        assertEquals("the drain lock (LOCK) was held by pid 4242 for more than 1 s",
            NativeBridge.start(zone, rings.buffer, RecordDescriptor.LAYOUT_SIGNATURE, PID, 1, IDLE, "1.22.1"));
        assertTrue(System.nanoTime() - t0 >= 1_000_000_000L);
        assertNull(NativeBridge.drainThread());
    }

    @Test
    void scrapeBeforeStartFailsWithAMessageInsteadOfThrowing() {
        assertNull(NativeBridge.scrape(null, null, null));
        assertTrue(NativeBridge.lastError().contains("start"));
    }

    @Test
    void startsTheDrainThreadAsADaemonNamedIpngDrain() {
        start(IDLE);
        Thread t = NativeBridge.drainThread();
        assertEquals("ipng-drain", t.getName());
        assertTrue(t.isDaemon());
        assertTrue(t.isAlive());
        assertEquals(0, rings.lock(), "the lock is free between passes");
    }

    @Test
    void theDrainThreadMovesRecordsIntoTheZoneEveryPoll() throws Exception {
        start(1);
        rings.claim(2, PID, 3);
        for (int i = 0; i < 10; i++) {
            assertTrue(rings.publish(2, 1, "192.0.2.1", 200, 10, 20, 3, -1));
        }
        SharedZone z = SharedZone.open(zone);
        await(() -> z.codesUsed() == 1 && rings.word(2, RingDescriptor.TAIL_OFFSET) == 10, "the drain");
        String out = text(NativeBridge.scrape(null, null, null));
        assertTrue(out.contains("nginx_ipng_requests_total{source_tag=\"mg1\",vip=\"192.0.2.1\",code=\"200\",} 10.0\n"),
            out);
        assertTrue(out.contains("nginx_ipng_flushes_total{worker=\"3\",} 1.0\n"), out);
        assertEquals(PID, zone.getLong(SharedZone.workerOffset(3) + WORKER_PID_OFFSET));
    }

    /** Once the drain thread has caught up, DRAINING says so: the replaced stats process may end. */
    @Test
    void theDrainThreadAnnouncesItsGenerationOnceItHasCaughtUp() throws Exception {
        assertEquals(0, rings.buffer.getLong(RingDescriptor.DRAINING_OFFSET));
        assertNull(NativeBridge.start(zone, rings.buffer, RecordDescriptor.LAYOUT_SIGNATURE, PID, 7, 1, "1.22.1"));
        await(() -> rings.buffer.getLong(RingDescriptor.DRAINING_OFFSET) == 7, "DRAINING = 7");
    }

    /** A scrape waits for no poll: it drains what was published before it, then renders. */
    @Test
    void aScrapeCountsEveryRecordPublishedBeforeIt() {
        start(IDLE);
        rings.claim(0, PID, 0);
        rings.claim(1, PID, 1);
        int published = 0;
        for (int i = 0; i < 100; i++) {
            published += rings.publish(i % 2, 0, "2001:db8::1", 503, 1, 2, 3, 2) ? 1 : 0;
        }
        rings.noRingDrop();
        assertEquals(100, published);
        String out = text(NativeBridge.scrape(null, null, null));
        assertTrue(out.startsWith("text/plain; version=0.0.4; charset=utf-8\n# HELP "), out);
        assertTrue(out.contains("nginx_ipng_requests_total{source_tag=\"direct\",vip=\"2001:db8::1\",code=\"503\",}"
            + " 100.0\n"), out);
        assertTrue(out.contains("nginx_ipng_dropped_records_total 1.0\n"), out);
        assertTrue(out.contains("nginx_ipng_build_info{version=\"0.1.0\",nginx_version=\"1.22.1\",java_version=\""));
        String again = text(NativeBridge.scrape(utf8("source_tag=mg1"), null, null));
        assertTrue(again.contains("nginx_ipng_scrape_duration_seconds_count 1.0\n"), again);
        assertFalse(again.contains("2001:db8::1"));
    }

    @Test
    void aScrapeAnswersJsonAndGzipWhenAsked() throws IOException {
        start(IDLE);
        rings.claim(0, PID, 0);
        rings.publish(0, 1, "192.0.2.7", 404, 10, 20, 3, -1);
        String json = text(NativeBridge.scrape(null, utf8("application/json"), null));
        assertTrue(json.startsWith("application/json\n{\"schema\":1,\"by_source\":{\"mg1\":"), json);
        assertTrue(json.contains("\"404\":{\"requests\":1,"), json);

        byte[] plain = NativeBridge.scrape(null, null, null);
        byte[] gzip = NativeBridge.scrape(null, null, utf8("gzip"));
        int head = indexOf(gzip, '\n');
        assertEquals("text/plain; version=0.0.4; charset=utf-8\tgzip", new String(gzip, 0, head, StandardCharsets.US_ASCII));
        String body;
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gzip, head + 1, gzip.length - head - 1))) {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String plainBody = text(plain).substring(indexOf(plain, '\n') + 1);
        assertEquals(perKey(plainBody), perKey(body), "the same counts, compressed");
    }

    private static int indexOf(byte[] b, char c) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        throw new AssertionError("no " + c);
    }

    /** The lines with a vip label: what a second scrape does not change. */
    private static List<String> perKey(String answer) {
        return answer.lines().filter(l -> l.contains("vip=")).collect(java.util.stream.Collectors.toList());
    }

    /**
     * A stats process killed in the middle of a transaction (here: after 9
     * stores, its LOCK still held by a pid that is gone): start() rolls it
     * back, and every record counts once.
     */
    @Test
    void startRollsBackWhatAKilledStatsProcessLeft() throws Exception {
        SharedZone z = SharedZone.open(zone);
        rings.claim(0, PID, 0);
        for (int i = 0; i < 20; i++) {
            rings.publish(0, 1, "192.0.2." + (i % 4), 200, 1, 1, 1, -1);
        }
        long gone = Integer.MAX_VALUE;      // no such pid
        Consumer killed = new Consumer(z, rings.open(), new int[] {z.internTag("direct"), z.internTag("mg1")},
            gone, TestRings.ALIVE);
        killed.lock();
        killed.journal().interruptAfter(9);
        assertThrows(Journal.Interrupted.class, killed::drainOnce);
        assertEquals(gone, rings.lock());
        assertNotEquals(0, rings.journalState(), "a transaction left open");

        start(IDLE);
        String out = text(NativeBridge.scrape(null, null, null));
        for (int v = 0; v < 4; v++) {
            assertTrue(out.contains("nginx_ipng_requests_total{source_tag=\"mg1\",vip=\"192.0.2." + v
                + "\",code=\"200\",} 5.0\n"), out);
        }
    }

    @Test
    void theDrainThreadTicksTheRatesOnceASecond() throws Exception {
        AtomicLong now = new AtomicLong(1_000);
        NativeBridge.setClock(now::get);
        start(1);
        await(() -> zone.getLong(RATE_TICK_SECOND_OFFSET) == 1_000, "the first tick");
        rings.claim(0, PID, 0);
        for (int i = 0; i < 10; i++) {
            rings.publish(0, 1, "192.0.2.1", 200, 0, 0, 1, -1);
        }
        now.set(1_001);
        await(() -> zone.getLong(RATE_TICK_SECOND_OFFSET) == 1_001, "the second tick");
        String out = text(NativeBridge.scrape(null, null, null));
        assertTrue(out.contains("nginx_ipng_rate_1s{source_tag=\"mg1\",vip=\"192.0.2.1\",} "
            + (10 * (1 - Math.exp(-1))) + "\n"), out);
    }

    @Test
    void aClosedRingIsReleasedWithItsDropsCountedOnce() throws Exception {
        rings.claim(1, PID, 1);
        int published = 0;
        for (int i = 0; i < 70; i++) {
            published += rings.publish(1, 0, "192.0.2.1", 200, 0, 0, 1, -1) ? 1 : 0;
        }
        assertEquals(64, published, "a ring of 64: 6 dropped");
        rings.close(1);
        start(1);
        await(() -> rings.word(1, RingDescriptor.OWNER_PID_OFFSET) == 0, "the release");
        for (int field : new int[] {RingDescriptor.HEAD_OFFSET, RingDescriptor.TAIL_OFFSET,
                RingDescriptor.DROPPED_OFFSET, RingDescriptor.DROPPED_SEEN_OFFSET, RingDescriptor.CLOSED_OFFSET,
                RingDescriptor.WORKER_OFFSET}) {
            assertEquals(0, rings.word(1, field), "field at " + field);
        }
        String out = text(NativeBridge.scrape(null, null, null));
        assertTrue(out.contains("nginx_ipng_dropped_records_total 6.0\n"), out);
        assertTrue(out.contains("code=\"200\",} 64.0\n"), out);
    }

    @Test
    void aDrainThatFailsIsReportedByLastError() throws Exception {
        start(1);
        rings.claim(3, PID, 3);
        rings.buffer.putLong(rings.ringOffset(3) + RingDescriptor.HEAD_OFFSET, 1_000);   // a corrupt ring
        await(() -> NativeBridge.lastError() != null, "the failure");
        assertTrue(NativeBridge.lastError().startsWith("drain: java.lang.IllegalStateException: ring 3 of pid "),
            NativeBridge.lastError());
        assertTrue(NativeBridge.drainThread().isAlive(), "the drain goes on");
        assertTrue(Arrays.asList(NativeBridge.lastError().split(" ")).contains("HEAD"));
    }
}
