package ch.ipng.stats.bench;

import java.io.File;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A drain benchmark of two builds of the Java core in one JVM, alternated
 * 100 ms at a time: {@link CoreBenchmark#drainBatch} (the aggregation loop;
 * every revision has it) or {@link CoreBenchmark#drainRing} (the stats
 * process's whole pass over a ring; revisions from 52742a7 on). Each build
 * is loaded by its own class loader
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
 *       A_CLASSES:A_TEST_CLASSES B_CLASSES:B_TEST_CLASSES [drainBatch|drainRing]
 * </pre>
 * where DEPS are the dependency jars only (no build of the core on the
 * application class path, or both loaders would find that one first).
 */
public final class DrainAb {

    private static final long WINDOW_NANOS = 100_000_000L;
    private static final int WARMUP_PAIRS = 20;

    private DrainAb() {
    }

    /**
     * Benchmark method {@code name} of one build, loaded apart, with the state
     * its one parameter names, set up by the state's {@code setup()}.
     */
    private static Runnable load(String dirs, URL[] deps, String name) throws ReflectiveOperationException,
            MalformedURLException {
        List<URL> urls = new ArrayList<>();
        for (String dir : dirs.split(":")) {
            urls.add(new File(dir).toURI().toURL());
        }
        urls.addAll(Arrays.asList(deps));
        ClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        Class<?> benchClass = loader.loadClass(CoreBenchmark.class.getName());
        Method drain = benchmark(benchClass, name, dirs);
        Class<?> stateClass = drain.getParameterTypes()[0];
        Object state = stateClass.getConstructor().newInstance();
        stateClass.getMethod("setup").invoke(state);
        Object bench = benchClass.getConstructor().newInstance();
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

    /** The benchmark method {@code name} (one parameter: its state) of a build's CoreBenchmark. */
    private static Method benchmark(Class<?> benchClass, String name, String dirs) throws NoSuchMethodException {
        for (Method m : benchClass.getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == 1) {
                return m;
            }
        }
        throw new NoSuchMethodException("CoreBenchmark." + name + " is not in " + dirs
            + " (drainRing: revisions from 52742a7 on; drainBatch: all)");
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
        if (args.length != 3 && args.length != 4) {
            throw new IllegalArgumentException("usage: DrainAb SECONDS A_DIRS B_DIRS [drainBatch|drainRing]");
        }
        String name = args.length == 4 ? args[3] : "drainBatch";
        double seconds = Double.parseDouble(args[0]);
        List<URL> deps = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (entry.endsWith(".jar")) {
                deps.add(new File(entry).toURI().toURL());
            }
        }
        URL[] shared = deps.toArray(URL[]::new);
        Runnable[] builds = {load(args[1], shared, name), load(args[2], shared, name)};
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
        System.out.printf("%s ns per record: A median %.2f (best %.2f), B median %.2f (best %.2f)%n",
            name, at(a, 0.5), a[0], at(b, 0.5), b[0]);
        System.out.printf("B/A median %.3f (p10 %.3f, p90 %.3f) over %d pairs of 100 ms windows%n",
            at(ratio, 0.5), at(ratio, 0.1), at(ratio, 0.9), ratio.length);
    }
}
