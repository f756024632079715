package ch.ipng.stats.format;

import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * A gzip member (RFC 1952) around what a {@link ByteSink} hands over, passed
 * on in chunks to the next {@link ByteSink.Overflow}: the body of a scrape
 * whose client sent {@code Accept-Encoding: gzip}, as Prometheus does. A
 * 12,000-key answer of 3.2 MB becomes ~140 KB at level 1 in ~5 ms, where
 * sending the plain text took ~2.6 ms of an event loop and as much again of
 * the receiver (README, Performance). Level 1: level 6 made the answer 16 %
 * smaller in five times the time.
 *
 * <p>Segments: {@link #cut} ends what was taken so far with a full flush
 * (the deflate blocks end on a byte, the dictionary is emptied), so the
 * compressed bytes between two cuts depend on that text alone and are valid
 * in any other member at a cut: {@link #splice} puts such bytes in without
 * deflating anything (a {@link SegmentCache} keeps them from one scrape to
 * the next). The member's CRC-32 is the CRCs of its pieces combined
 * ({@link #crc32Combine}), so spliced text is never read again.
 *
 * <p>One instance per answer: {@link #finish} ends the member and frees the
 * deflater's native memory (about 256 KB), {@link #end} frees it without
 * finishing (a render that failed).
 */
final class Gzip implements ByteSink.Overflow {

    static final int LEVEL = Deflater.BEST_SPEED;

    /* magic, CM = deflate, no flags, no mtime, XFL 4 (fastest), OS 3 (Unix) */
    private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 4, 3};
    private static final int TRAILER = 8;

    private final ByteSink.Overflow next;
    private final Deflater deflater = new Deflater(LEVEL, true);
    /* the text taken since the last cut; the member's CRC-32 and length before it */
    private final CRC32 crc = new CRC32();
    private long in;
    private int memberCrc;
    private long memberIn;
    private final byte[] out;
    private int size;
    private long handedOver;
    /* what deflate() wrote since capture began (a segment to keep); the array is reused */
    private boolean capturing;
    private byte[] captured = new byte[0];
    private int capturedLength;

    /** A piece of a member between two cuts: its compressed bytes, the CRC-32 and length of its text. */
    static final class Segment {
        final byte[] deflated;
        final int crc;
        final long length;

        Segment(byte[] deflated, int crc, long length) {
            this.deflated = deflated;
            this.crc = crc;
            this.length = length;
        }
    }

    Gzip(ByteSink.Overflow next, int chunk) {
        this.next = next;
        this.out = new byte[Math.max(chunk, HEADER.length + TRAILER)];
        System.arraycopy(HEADER, 0, out, 0, HEADER.length);
        size = HEADER.length;
    }

    ByteSink.Overflow next() {
        return next;
    }

    @Override
    public void take(byte[] b, int len) {
        crc.update(b, 0, len);
        in += len;
        deflater.setInput(b, 0, len);
        while (!deflater.needsInput()) {
            deflate();
        }
    }

    /**
     * Ends the text taken since the last cut with a full flush: what follows
     * does not refer back past here. Returns that piece as a {@link Segment}
     * when {@link #capture} was called at the last cut, else null.
     */
    Segment cut() {
        if (in > 0) {
            int n;
            do {
                n = deflater.deflate(out, size, out.length - size, Deflater.FULL_FLUSH);
                advance(n);
            } while (size == 0 && n > 0);      // the output was full: there may be more
        }
        Segment s = !capturing ? null
            : new Segment(Arrays.copyOf(captured, capturedLength), (int) crc.getValue(), in);
        capturing = false;
        memberCrc = crc32Combine(memberCrc, (int) crc.getValue(), in);
        memberIn += in;
        crc.reset();
        in = 0;
        return s;
    }

    /** Keeps what is deflated from here (a cut) to the next {@link #cut}, which returns it. */
    void capture() {
        capturing = true;
        capturedLength = 0;
    }

    /** Puts a segment cut from an earlier member in; only at a cut. */
    void splice(Segment s) {
        if (in != 0) {
            throw new IllegalStateException("a splice must follow a cut");
        }
        for (int at = 0; at < s.deflated.length; ) {
            int n = Math.min(out.length - size, s.deflated.length - at);
            System.arraycopy(s.deflated, at, out, size, n);
            at += n;
            size += n;
            if (size == out.length) {
                pass();
            }
        }
        memberCrc = crc32Combine(memberCrc, s.crc, s.length);
        memberIn += s.length;
    }

    /** Ends the member (the rest, CRC-32, length mod 2^32), hands it all on; the bytes handed on. */
    long finish() {
        try {
            deflater.finish();
            while (!deflater.finished()) {
                deflate();
            }
            if (out.length - size < TRAILER) {
                pass();
            }
            int c = crc32Combine(memberCrc, (int) crc.getValue(), in);
            putIntLE(c);
            putIntLE((int) (memberIn + in));
            pass();
            return handedOver;
        } finally {
            deflater.end();
        }
    }

    /** Frees the deflater without finishing: the answer is dropped. */
    void end() {
        deflater.end();
    }

    private void deflate() {
        advance(deflater.deflate(out, size, out.length - size));
    }

    /* n bytes were deflated into out at size: keep them if capturing, pass a full buffer on */
    private void advance(int n) {
        if (capturing && n > 0) {
            if (capturedLength + n > captured.length) {
                int grown = Math.max(2 * captured.length, capturedLength + n);
                captured = Arrays.copyOf(captured, Math.max(1024, grown));
            }
            System.arraycopy(out, size, captured, capturedLength, n);
            capturedLength += n;
        }
        size += n;
        if (size == out.length) {
            pass();
        }
    }

    /*
     * CRC-32 of A then B from the CRCs of A and B and B's length: zlib's
     * crc32_combine (1.2.12 and later), in GF(2) polynomial arithmetic
     * modulo the reflected CRC-32 polynomial. x^(2^k) mod p for k < 32.
     */
    private static final int POLY = 0xedb88320;
    private static final int[] X2N = x2nTable();

    private static int[] x2nTable() {
        int[] t = new int[32];
        int p = 1 << 30;                    // x^1
        t[0] = p;
        for (int k = 1; k < 32; k++) {
            t[k] = p = multModP(p, p);
        }
        return t;
    }

    /* a * b mod p, both reflected */
    private static int multModP(int a, int b) {
        int m = 1 << 31;
        int p = 0;
        while (true) {
            if ((a & m) != 0) {
                p ^= b;
                if ((a & (m - 1)) == 0) {
                    return p;
                }
            }
            m >>>= 1;
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
    }

    /* x^(n * 2^k) mod p */
    private static int x2nModP(long n, int k) {
        int p = 1 << 31;                    // x^0
        while (n != 0) {
            if ((n & 1) != 0) {
                p = multModP(X2N[k & 31], p);
            }
            n >>>= 1;
            k++;
        }
        return p;
    }

    /** The CRC-32 of A followed by B, given crcA, crcB and B's length in bytes. */
    static int crc32Combine(int crcA, int crcB, long lengthB) {
        return multModP(x2nModP(lengthB, 3), crcA) ^ crcB;
    }

    private void putIntLE(int v) {
        for (int i = 0; i < 4; i++) {
            out[size++] = (byte) (v >>> (8 * i));
        }
    }

    private void pass() {
        if (size > 0) {
            next.take(out, size);
            handedOver += size;
            size = 0;
        }
    }
}
