package ch.ipng.stats.format;

import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * A gzip member (RFC 1952) around what a {@link ByteSink} hands over, passed
 * on in chunks to the next {@link ByteSink.Overflow}: the body of a scrape
 * whose client sent {@code Accept-Encoding: gzip}, as Prometheus does. A
 * 12,000-key answer of 3.2 MB becomes ~140 KB at level 1 in ~5 ms of the
 * render thread, where sending the plain text took ~2.6 ms of the event loop
 * and as much again of the receiver (README, Performance). Level 1: level 6
 * made the answer 16 % smaller in five times the time.
 *
 * <p>The input goes to the deflater {@value #PIECE} bytes at a time, with a
 * {@link Pacer#check} after each piece: a 64 KB chunk in one call kept the
 * render thread on the worker's core past its 200 us slice, and every such
 * run is a stall of all the worker's connections. With this and the finer
 * checks in ByteSink and ZoneSnapshot, runs over 250 us in 5 s of perf
 * sched timehist under load (12,000 keys) went from 119 to 63 (what is left
 * is mostly interrupts and softirq charged to the run); wrk's p99 did not
 * move beyond this machine's noise.
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

    /** Input bytes deflated between two pacer checks: ~8 us of level 1 (JMH: 6.4 ms per 3.2 MB). */
    static final int PIECE = 4 << 10;

    private final ByteSink.Overflow next;
    private final Pacer pacer;
    private final Deflater deflater = new Deflater(LEVEL, true);
    private final CRC32 crc = new CRC32();
    private final byte[] out;
    private int size;
    private long in;
    private long handedOver;

    Gzip(ByteSink.Overflow next, int chunk, Pacer pacer) {
        this.next = next;
        this.pacer = pacer;
        this.out = new byte[Math.max(chunk, HEADER.length + TRAILER)];
        System.arraycopy(HEADER, 0, out, 0, HEADER.length);
        size = HEADER.length;
    }

    ByteSink.Overflow next() {
        return next;
    }

    @Override
    public void take(byte[] b, int len) {
        for (int at = 0; at < len; at += PIECE) {
            int n = Math.min(PIECE, len - at);
            crc.update(b, at, n);
            in += n;
            deflater.setInput(b, at, n);
            while (!deflater.needsInput()) {
                deflate();
            }
            pacer.check();
        }
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
            putIntLE((int) crc.getValue());
            putIntLE((int) in);
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
        size += deflater.deflate(out, size, out.length - size);
        if (size == out.length) {
            pass();
        }
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
