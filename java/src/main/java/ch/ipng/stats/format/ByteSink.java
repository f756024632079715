package ch.ipng.stats.format;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable byte buffer that one scrape after another renders into: the
 * stats process keeps one and {@link #reset}s it, so a 3 MB answer costs no
 * new 3 MB array (and no old-generation growth) per scrape. With an
 * {@link Overflow} it does not grow at all: a full buffer is handed over
 * and reused, so a render keeps one 64 KB chunk and the answer (compressed,
 * when the client takes gzip) collects elsewhere. Also the {@link OutputStream} the JSON
 * generator writes to. Not thread-safe: one scrape at a time. Numbers are
 * written without allocating except for doubles that are not integers (see
 * {@link #writeGoDouble}).
 */
public final class ByteSink extends OutputStream {

    /** Takes the content of a full buffer (and the rest at {@link #flush}); the array is reused after. */
    @FunctionalInterface
    public interface Overflow {
        void take(byte[] b, int len);
    }

    /** An array grown past this is dropped after the scrape rather than kept. */
    static final int KEEP_LIMIT = 16 << 20;

    private static final long TEN_MILLION = 10_000_000L;
    private static final long TWO_POW_53 = 1L << 53;

    /** "9.007199254740991E15": 16 digits, the point, the E and two exponent digits. */
    private static final int MAX_COUNT_LENGTH = 20;

    private byte[] buf;
    private int size;
    private Overflow overflow;
    private long handedOver;
    /* the compressing stage in front of overflow, and what went past it plain */
    private Gzip gzip;
    private long plain;

    public ByteSink(int initialCapacity) {
        buf = new byte[Math.max(16, initialCapacity)];
    }

    /**
     * Where a full buffer goes instead of growing (default: nowhere, the
     * buffer grows). Then {@link #array()} holds only what was not yet handed
     * over, and {@link #flush} hands that over too.
     */
    public ByteSink overflowTo(Overflow o) {
        dropCompression();
        overflow = o;
        return this;
    }

    public boolean hasOverflow() {
        return overflow != null;
    }

    /** Bytes written since the last {@link #reset}, handed over or not. */
    public long written() {
        return handedOver + size;
    }

    /** Hands the buffer's content to the {@link Overflow}, if there is one. */
    @Override
    public void flush() {
        if (overflow != null && size > 0) {
            overflow.take(buf, size);
            handedOver += size;
            size = 0;
        }
    }

    /**
     * From here on what is handed over is compressed ({@link Gzip}): what was
     * written so far (the answer's head line) is handed over as it is first.
     * Needs an {@link Overflow} ({@link #hasOverflow}), once per answer.
     */
    public void compressFromHere() {
        if (overflow == null || gzip != null) {
            throw new IllegalStateException(overflow == null ? "nothing to compress into" : "already compressing");
        }
        flush();
        plain = handedOver;
        gzip = new Gzip(overflow, buf.length);
        overflow = gzip;
    }

    /**
     * Hands over the rest ({@link #flush}), ending a compressed part; returns
     * the bytes the {@link Overflow} received since the last {@link #reset}.
     */
    public long finish() {
        flush();
        if (gzip == null) {
            return handedOver;
        }
        Gzip g = gzip;
        gzip = null;
        overflow = g.next();
        return plain + g.finish();
    }

    /** Whether the answer is being compressed, so segments can be cut and spliced ({@link Gzip}). */
    boolean compressing() {
        return gzip != null;
    }

    /** Begins a segment to keep (compressing only): what was written before it is cut off. */
    void beginSegment() {
        flush();
        gzip.cut();
        gzip.capture();
    }

    /** Ends the segment begun last: its compressed bytes, for a later answer's {@link #splice}. */
    Gzip.Segment endSegment() {
        flush();
        return gzip.cut();
    }

    /** Puts a segment of an earlier answer here instead of writing its text again. */
    void splice(Gzip.Segment s) {
        flush();
        gzip.cut();
        gzip.splice(s);
    }

    /* a render that failed half way: its compressed answer is dropped */
    private void dropCompression() {
        if (gzip != null) {
            gzip.end();
            overflow = gzip.next();
            gzip = null;
        }
    }

    /** Empties the buffer; drops an array larger than {@link #KEEP_LIMIT}. */
    public void reset() {
        dropCompression();
        size = 0;
        handedOver = 0;
        if (buf.length > KEEP_LIMIT) {
            buf = new byte[1 << 16];
        }
    }

    /** The backing array: bytes [0, {@link #size()}) are the content. */
    public byte[] array() {
        return buf;
    }

    public int size() {
        return size;
    }

    public byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }

    @Override
    public String toString() {
        return new String(buf, 0, size, StandardCharsets.UTF_8);
    }

    private void ensure(int extra) {
        if (extra > buf.length - size) {
            flush();
        }
        if (extra > buf.length - size) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + extra));
        }
    }

    @Override
    public void write(int b) {
        ensure(1);
        buf[size++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, buf, size, len);
        size += len;
    }

    public void write(byte[] b) {
        write(b, 0, b.length);
    }

    /** Appends the characters of an ASCII string, one byte each. */
    public void writeAscii(String s) {
        int n = s.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            buf[size++] = (byte) s.charAt(i);
        }
    }

    /** Appends a non-negative long in decimal. */
    public void writeDecimal(long v) {
        if (v < 0) {
            writeAscii(Long.toString(v));
            return;
        }
        int digits = digits(v);
        ensure(digits);
        size += digits;
        putDigits(buf, size, v);
    }

    /* "00" "01" ... "99": two digits per step */
    private static final byte[] PAIRS = pairs();
    /* 10^0 .. 10^18 */
    private static final long[] POWERS = powers();

    private static byte[] pairs() {
        byte[] p = new byte[200];
        for (int i = 0; i < 100; i++) {
            p[2 * i] = (byte) ('0' + i / 10);
            p[2 * i + 1] = (byte) ('0' + i % 10);
        }
        return p;
    }

    private static long[] powers() {
        long[] p = new long[19];
        p[0] = 1;
        for (int i = 1; i < p.length; i++) {
            p[i] = p[i - 1] * 10;
        }
        return p;
    }

    /** Decimal digits of {@code v >= 0}. */
    static int digits(long v) {
        int d = 1;
        while (d < POWERS.length && v >= POWERS[d]) {
            d++;
        }
        return d;
    }

    /*
     * The digits of v >= 0, ending just before b[end], two at a time.
     * The module's JIT (C1) turns a division by a constant into a hardware
     * divide, tens of cycles each, and a 12,000-key scrape prints ~40,000
     * numbers: below 2^32 (every count but the largest byte totals) the
     * quotient is a multiply and a shift, x / 100 == (x * 0x51EB851F) >>> 37
     * for 0 <= x < 2^32 (the constant compilers use for an unsigned 32-bit
     * division by 100, checked for every such x; the product stays below 2^63).
     */
    private static void putDigits(byte[] b, int end, long v) {
        int i = end;
        while (v >= 1L << 32) {
            long q = v / 100;
            int r = (int) (v - q * 100) << 1;
            b[--i] = PAIRS[r + 1];
            b[--i] = PAIRS[r];
            v = q;
        }
        while (v >= 100) {
            long q = (v * 0x51EB851FL) >>> 37;
            int r = (int) (v - q * 100) << 1;
            b[--i] = PAIRS[r + 1];
            b[--i] = PAIRS[r];
            v = q;
        }
        if (v >= 10) {
            int r = (int) v << 1;
            b[--i] = PAIRS[r + 1];
            b[--i] = PAIRS[r];
        } else {
            b[--i] = (byte) ('0' + v);
        }
    }

    /**
     * Appends {@code v} as Go would print a float64 for Prometheus and as
     * simpleclient_common's {@code Collector.doubleToGoString} does:
     * {@code +Inf}, {@code -Inf}, {@code NaN}, else {@link Double#toString}.
     */
    public void writeGoDouble(double v) {
        if (v == Double.POSITIVE_INFINITY) {
            writeAscii("+Inf");
        } else if (v == Double.NEGATIVE_INFINITY) {
            writeAscii("-Inf");
        } else {
            writeAscii(Double.toString(v));
        }
    }

    /** Longest count {@link #writeCountLine} writes in one piece: 7 digits, ".0". */
    private static final int SHORT_COUNT_LENGTH = 9;

    /**
     * {@code a}, {@code b}, {@code c}, {@code v} as {@link #writeCount} prints
     * it and a newline: one line of a large scrape (name and labels, the
     * code or bound, the label set's end, the count) with one room check
     * instead of one per piece. Counts below 10^7 are written here; others
     * take the general path.
     */
    public void writeCountLine(byte[] a, byte[] b, byte[] c, long v) {
        if (v < 0 || v >= TEN_MILLION) {
            write(a);
            write(b);
            write(c);
            writeCount(v);
            write('\n');
            return;
        }
        ensure(a.length + b.length + c.length + SHORT_COUNT_LENGTH + 1);
        byte[] to = buf;
        int at = size;
        System.arraycopy(a, 0, to, at, a.length);
        at += a.length;
        for (byte x : b) {
            to[at++] = x;
        }
        for (byte x : c) {
            to[at++] = x;
        }
        at += digits(v);
        putDigits(to, at, v);
        to[at++] = '.';
        to[at++] = '0';
        to[at++] = '\n';
        size = at;
    }

    /**
     * Appends a count exactly as {@link #writeGoDouble} would print
     * {@code (double) v}, without allocating for 0 <= v < 2^53 (every count a
     * zone holds in practice): below 10^7 {@code "123.0"}, above it the
     * digits without trailing zeros in {@code "1.2345E7"} form. Those are the
     * exact digits because every such integer is a double.
     */
    public void writeCount(long v) {
        if (v < 0 || v >= TWO_POW_53) {
            writeGoDouble((double) v);
            return;
        }
        if (v < TEN_MILLION) {
            writeDecimal(v);
            ensure(2);
            buf[size++] = '.';
            buf[size++] = '0';
            return;
        }
        // the digits are moved in place below: room for all of them first, so no flush comes between
        ensure(MAX_COUNT_LENGTH);
        int exponent = digits(v) - 1;
        long mantissa = v;
        while (mantissa % 10 == 0) {
            mantissa /= 10;
        }
        int start = size;
        writeDecimal(mantissa);
        int digits = size - start;
        // d.ddd: shift the fraction one place right to make room for the point;
        // then at most ".0" (or the shift) and the "E" before the exponent's digits
        ensure(3);
        if (digits == 1) {
            buf[size++] = '.';
            buf[size++] = '0';
        } else {
            System.arraycopy(buf, start + 1, buf, start + 2, digits - 1);
            buf[start + 1] = '.';
            size++;
        }
        buf[size++] = 'E';
        writeDecimal(exponent);
    }
}
