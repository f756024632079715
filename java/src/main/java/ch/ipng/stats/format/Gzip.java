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
 * {@link Pacer#check} between pieces: a 64 KB chunk in one call kept the
 * render thread on the worker's core past its 200 us slice, and every such
 * run is a stall of all the worker's connections (perf sched timehist under
 * the 12,000-key load: render runs of 250-500 us). wrk's p99 did not move
 * beyond this machine's noise with it; checks after every 4 KB (here, in
 * ByteSink, and every 256 keys in ZoneSnapshot) did not either, and made a
 * one-key scrape under load take twice as long (6 -> 14 ms, more pauses
 * behind the busy event loop) with 25 % more render CPU.
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

    /** Input bytes deflated between two pacer checks: ~30 us of level 1 (JMH: 6.4 ms per 3.2 MB). */
    static final int PIECE = 16 << 10;

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
            if (at > 0) {
                pacer.check();          // between pieces: a small answer is not paced here at all
            }
            int n = Math.min(PIECE, len - at);
            crc.update(b, at, n);
            in += n;
            deflater.setInput(b, at, n);
            while (!deflater.needsInput()) {
                deflate();
            }
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
