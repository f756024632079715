package ch.ipng.stats.bench;

import java.io.File;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@link CoreBenchmark#drainBatch} of two builds of the Java core in one JVM,
 * alternated 100 ms at a time: each build is loaded by its own class loader
 * (its classes and test classes, then the shared dependencies), so both run
 * the same warm-up, the same machine speed and the same JIT, and the ratio
 * of each pair of neighbouring windows cancels the VM's speed drift (the
 * same build's windows move 2x within a minute on the Intel VM; the median
 * ratio of 80 pairs repeats within about 1 %). Prints both builds' medians
 * and the median ratio B/A with its 10th and 90th percentiles. Run with
 * {@code bench/drain-ab.sh} (a git revision against the working tree).
 *
 * <pre>
 *   java -cp DEPS:TEST_CLASSES ch.ipng.stats.bench.DrainAb SECONDS \
 *       A_CLASSES:A_TEST_CLASSES B_CLASSES:B_TEST_CLASSES
 * </pre>
 * where DEPS are the dependency jars only (no build of the core on the
 * application class path, or both loaders would find that one first).
 */
public final class DrainAb {

    private static final long WINDOW_NANOS = 100_000_000L;
    private static final int WARMUP_PAIRS = 20;

    private DrainAb() {
    }

    /** The drain of one build: CoreBenchmark's state and benchmark method, loaded apart. */
    private static Runnable load(String dirs, URL[] deps) throws ReflectiveOperationException,
            MalformedURLException {
        List<URL> urls = new ArrayList<>();
        for (String dir : dirs.split(":")) {
            urls.add(new File(dir).toURI().toURL());
        }
        urls.addAll(Arrays.asList(deps));
        ClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        Class<?> stateClass = loader.loadClass(CoreBenchmark.DrainState.class.getName());
        Class<?> benchClass = loader.loadClass(CoreBenchmark.class.getName());
        Object state = stateClass.getConstructor().newInstance();
        stateClass.getMethod("setup").invoke(state);
        Object bench = benchClass.getConstructor().newInstance();
        java.lang.reflect.Method drain = benchClass.getMethod("drainBatch", stateClass);
        return () -> {
            try {
                for (int i = 0; i < 100; i++) {
                    drain.invoke(bench, state);
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        };
    }

    /** ns per record of one window of {@code drain}. */
    private static double window(Runnable drain) {
        long start = System.nanoTime();
        long records = 0;
        long now;
        do {
            drain.run();
            records += 100L * CoreBenchmark.BATCH;
            now = System.nanoTime();
        } while (now - start < WINDOW_NANOS);
        return (double) (now - start) / records;
    }

    private static double at(double[] sorted, double q) {
        return sorted[(int) (q * (sorted.length - 1))];
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            throw new IllegalArgumentException("usage: DrainAb SECONDS A_DIRS B_DIRS");
        }
        double seconds = Double.parseDouble(args[0]);
        List<URL> deps = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (entry.endsWith(".jar")) {
                deps.add(new File(entry).toURI().toURL());
            }
        }
        URL[] shared = deps.toArray(URL[]::new);
        Runnable[] builds = {load(args[1], shared), load(args[2], shared)};
        List<double[]> pairs = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (int round = 0; System.nanoTime() < end || pairs.isEmpty(); round++) {
            double[] ns = new double[2];
            for (int k = 0; k < 2; k++) {
                int b = (round + k) % 2;    // A B, B A, ...: each build takes each place in turn
                ns[b] = window(builds[b]);
            }
            if (round >= WARMUP_PAIRS || seconds < 5) {
                pairs.add(ns);
            }
        }
        double[] a = pairs.stream().mapToDouble(p -> p[0]).sorted().toArray();
        double[] b = pairs.stream().mapToDouble(p -> p[1]).sorted().toArray();
        double[] ratio = pairs.stream().mapToDouble(p -> p[1] / p[0]).sorted().toArray();
        System.out.printf("drainBatch ns per record: A median %.2f (best %.2f), B median %.2f (best %.2f)%n",
            at(a, 0.5), a[0], at(b, 0.5), b[0]);
        System.out.printf("B/A median %.3f (p10 %.3f, p90 %.3f) over %d pairs of 100 ms windows%n",
            at(ratio, 0.5), at(ratio, 0.1), at(ratio, 0.9), ratio.length);
    }
}
