package ch.ipng.stats.bench;

import java.util.Arrays;

/**
 * {@link CoreBenchmark#drainBatch} in a plain loop, timed in 1 s windows:
 * prints the best, the 10th percentile and the median window in ns per
 * record. On a shared VM whose neighbours steal time in bursts, the best
 * windows of two builds, alternated, separate changes of a few percent
 * that JMH's means (which average the bursts in) do not. Run with the
 * stats process's collector (and C2; -XX:TieredStopAtLevel=1 for C1), e.g.
 * <pre>
 *   java -XX:+UseSerialGC -cp "$(bench/jmh.sh classpath)" ch.ipng.stats.bench.DrainLoop 8
 * </pre>
 */
public final class DrainLoop {

    private static final int BATCHES_PER_STEP = 2000;

    private DrainLoop() {
    }

    /** ns per record of each 1 s window (at least one) in {@code seconds}, sorted. */
    static double[] windows(double seconds, long windowNanos) {
        CoreBenchmark.DrainState state = new CoreBenchmark.DrainState();
        state.setup();
        CoreBenchmark bench = new CoreBenchmark();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        double[] out = new double[16];
        int n = 0;
        do {
            long records = 0;
            long start = System.nanoTime();
            long now;
            do {
                for (int i = 0; i < BATCHES_PER_STEP; i++) {
                    bench.drainBatch(state);
                }
                records += (long) BATCHES_PER_STEP * CoreBenchmark.BATCH;
                now = System.nanoTime();
            } while (now - start < windowNanos);
            if (n == out.length) {
                out = Arrays.copyOf(out, 2 * n);
            }
            out[n++] = (double) (now - start) / records;
        } while (System.nanoTime() < end);
        out = Arrays.copyOf(out, n);
        Arrays.sort(out);
        return out;
    }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 8;
        double[] w = windows(seconds, 1_000_000_000L);
        System.out.printf("drainBatch: best %.2f  p10 %.2f  median %.2f ns per record (%d windows of 1 s)%n",
            w[0], w[w.length / 10], w[w.length / 2], w.length);
    }
}
