package ch.ipng.stats.format;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ByteSinkTest {

    private static String count(long v) {
        ByteSink s = new ByteSink(1);
        s.writeCount(v);
        return s.toString();
    }

    private static void assertLikeDoubleToString(long v) {
        assertEquals(Double.toString((double) v), count(v), "count " + v);
    }

    @Test
    void countsPrintAsTheJdkPrintsTheDouble() {
        for (long v = 0; v < 20_000; v++) {
            assertLikeDoubleToString(v);
        }
        for (long p = 10; p > 0 && p < Long.MAX_VALUE / 10; p *= 10) {
            for (long d = -1_000; d <= 1_000; d++) {
                assertLikeDoubleToString(p + d);
                assertLikeDoubleToString(p * 7 + d);
            }
        }
        for (long d = -5_000; d <= 5_000; d++) {
            assertLikeDoubleToString((1L << 53) + d);
        }
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 500_000; i++) {
            assertLikeDoubleToString(random.nextLong() >>> random.nextInt(64));
        }
        assertLikeDoubleToString(Long.MAX_VALUE);
        assertLikeDoubleToString(-1);
        assertLikeDoubleToString(Long.MIN_VALUE);
    }

    private static void assertLikeLongToString(long v) {
        ByteSink s = new ByteSink(1);
        s.writeDecimal(v);
        assertEquals(Long.toString(v), s.toString());
        assertEquals(Long.toString(v).length(), v < 0 ? Long.toString(v).length() : ByteSink.digits(v));
    }

    /** Decimals are printed two digits at a time with a multiply in place of a division below 2^32. */
    @Test
    void decimalsPrintAsLongToString() {
        for (long v = -100; v < 100_000; v++) {
            assertLikeLongToString(v);
        }
        for (long p = 10; p > 0 && p < Long.MAX_VALUE / 10; p *= 10) {
            for (long d = -300; d <= 300; d++) {
                assertLikeLongToString(p + d);
            }
        }
        for (long edge : new long[] {1L << 31, 1L << 32, 1L << 53, Long.MAX_VALUE}) {
            for (long d = -300; d <= 300; d++) {
                assertLikeLongToString(edge - Math.abs(d) + (edge == Long.MAX_VALUE ? 0 : d));
            }
        }
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 500_000; i++) {
            assertLikeLongToString(random.nextLong() >>> random.nextInt(64));
        }
        for (long x = (1L << 32) - 2_000_000; x < 1L << 32; x++) {     // the multiply's last range
            ByteSink s = new ByteSink(16);
            s.writeDecimal(x);
            assertEquals(Long.toString(x), s.toString());
        }
    }

    @Test
    void goDoublesLikeSimpleclient() {
        for (double d : new double[] {0.0, -0.0, 0.004, 1e-5, 2.5e-4, 0.078, 39.8, 1e300,
                Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            ByteSink s = new ByteSink(1);
            s.writeGoDouble(d);
            assertEquals(io.prometheus.client.Collector.doubleToGoString(d), s.toString());
        }
    }

    @Test
    void growsAndResets() {
        ByteSink s = new ByteSink(1);
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 10_000; i++) {
            s.writeAscii("line ");
            s.writeDecimal(i);
            s.write('\n');
            expected.append("line ").append(i).append('\n');
        }
        assertEquals(expected.toString(), s.toString());
        byte[] kept = s.array();
        s.reset();
        assertEquals(0, s.size());
        assertSame(kept, s.array(), "a buffer below the limit is reused");
        s.write(new byte[ByteSink.KEEP_LIMIT + 1]);
        s.reset();
        assertTrue(s.array().length < ByteSink.KEEP_LIMIT, "a buffer above the limit is dropped");
        s.write("é".getBytes(StandardCharsets.UTF_8));
        assertArrayEquals("é".getBytes(StandardCharsets.UTF_8), s.toByteArray());
    }

    @Test
    void withAnOverflowHandsOverFullChunksAndNeverGrows() {
        ByteSink plain = new ByteSink(16);
        ByteSink chunked = new ByteSink(64);
        java.io.ByteArrayOutputStream handed = new java.io.ByteArrayOutputStream();
        java.util.List<Integer> lengths = new java.util.ArrayList<>();
        chunked.overflowTo((b, len) -> {
            lengths.add(len);
            handed.write(b, 0, len);
        });
        byte[] kept = chunked.array();
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 20_000; i++) {
            long v = random.nextLong(1L << 53);
            long count = random.nextBoolean() ? v : v % 20_000_000;
            for (ByteSink s : new ByteSink[] {plain, chunked}) {
                s.writeAscii("k{a=\"");
                s.writeDecimal(i);
                s.writeAscii("\"} ");
                s.writeCount(count);    // its digits are moved in place: never split by a hand-over
                s.write('\n');
            }
        }
        assertEquals(plain.size(), chunked.written());
        chunked.flush();
        assertEquals(plain.size(), chunked.written());
        assertEquals(0, chunked.size());
        assertSame(kept, chunked.array(), "the chunk is reused, not grown");
        assertTrue(lengths.stream().allMatch(n -> n > 64 - 20 && n <= 64 || n == lengths.get(lengths.size() - 1)),
            lengths.toString());
        assertArrayEquals(plain.toByteArray(), handed.toByteArray());
        chunked.reset();
        assertEquals(0, chunked.written());
    }
}
