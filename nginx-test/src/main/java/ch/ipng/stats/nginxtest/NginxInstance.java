package ch.ipng.stats.nginxtest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One real nginx (master plus workers, daemonized) in a fresh temporary
 * prefix directory, for one test.
 *
 * <pre>{@code
 * try (NginxInstance nginx = NginxInstance.create()) {
 *     nginx.writeConfig("... listen 127.0.0.1:" + nginx.port() + "; ...");
 *     nginx.start();
 *     RawHttp.Response r = RawHttp.send(nginx.port(), RawHttp.Request.get("/"));
 *     nginx.reload();
 *     long ms = nginx.quit();
 * }   // close() always stops nginx, kill -9 as a last resort
 * }</pre>
 *
 * <p>The prefix holds {@code conf/nginx.conf}, {@code logs/} and
 * {@code html/}; it and those directories are mode 0755 because when the
 * tests run as root the workers run as {@code nobody} and must traverse it.
 * Worker processes are found as the children of the master in {@code /proc}.
 */
public final class NginxInstance implements AutoCloseable {

    /** How long start, reload and the stops wait by default. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(15);

    private static final Pattern WORKER_PROCESSES =
            Pattern.compile("(?m)^\\s*worker_processes\\s+(\\w+)\\s*;");
    private static final Pattern MASTER_OFF =
            Pattern.compile("(?m)^\\s*master_process\\s+off\\s*;");

    private final Path nginxBin;
    private final Path prefix;
    private final int[] ports;
    private final Set<Long> seenPids = new LinkedHashSet<>();
    private long masterPid = -1;
    private long masterStart = -1;
    private Duration timeout = DEFAULT_TIMEOUT;
    private boolean keepPrefix = TestEnv.keepPrefixes();
    private boolean waitForPort = true;

    private NginxInstance(Path nginxBin, Path prefix, int[] ports) {
        this.nginxBin = nginxBin;
        this.prefix = prefix;
        this.ports = ports;
    }

    /** A new instance of {@link TestEnv#nginxBin()} with two free ports. */
    public static NginxInstance create() {
        return create(TestEnv.nginxBin(), 2);
    }

    /**
     * A new instance: checks the binary, makes the prefix (conf/, logs/,
     * html/, all 0755) and reserves {@code portCount} free loopback ports.
     */
    public static NginxInstance create(Path nginxBin, int portCount) {
        if (!Files.isRegularFile(nginxBin) || !Files.isExecutable(nginxBin)) {
            throw new NginxException("nginx binary " + nginxBin + " is missing or not executable"
                    + " (set -Dnginx.bin=/path/to/nginx)");
        }
        if (portCount < 1) {
            throw new IllegalArgumentException("portCount " + portCount);
        }
        try {
            String tmp = TestEnv.prop("ipng.tmp.dir", System.getProperty("java.io.tmpdir"));
            Path prefix = Files.createTempDirectory(Path.of(tmp), "ipng-nginx-");
            for (Path d : List.of(prefix, prefix.resolve("conf"), prefix.resolve("logs"),
                    prefix.resolve("html"))) {
                Files.createDirectories(d);
                Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            return new NginxInstance(nginxBin, prefix.toRealPath(), freePorts(portCount));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make an nginx prefix", e);
        }
    }

    // ---------------------------------------------------------------- where

    public Path prefix() {
        return prefix;
    }

    public Path nginxBin() {
        return nginxBin;
    }

    /** The first reserved port ({@code $TEST_NGINX_SERVER_PORT}). */
    public int port() {
        return ports[0];
    }

    /** Reserved port {@code i} (0-based); {@code port(0) == port()}. */
    public int port(int i) {
        return ports[i];
    }

    public Path confFile() {
        return prefix.resolve("conf/nginx.conf");
    }

    public Path htmlDir() {
        return prefix.resolve("html");
    }

    public Path errorLogFile() {
        return prefix.resolve("logs/error.log");
    }

    public Path accessLogFile() {
        return prefix.resolve("logs/access.log");
    }

    /** Time limit for start, reload, quit and stop. */
    public NginxInstance timeout(Duration t) {
        this.timeout = t;
        return this;
    }

    /** Keep the prefix directory after {@link #close()} (default: -Dipng.keep). */
    /**
     * Whether {@link #start()} waits for {@link #port()} to accept on
     * 127.0.0.1 (default on); off for an nginx in another network namespace.
     */
    public NginxInstance waitForPort(boolean on) {
        this.waitForPort = on;
        return this;
    }

    public NginxInstance keepPrefix(boolean keep) {
        this.keepPrefix = keep;
        return this;
    }

    // --------------------------------------------------------------- config

    /** Writes {@code conf/nginx.conf}. */
    public NginxInstance writeConfig(String text) {
        try {
            Files.writeString(confFile(), text, StandardCharsets.UTF_8);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String config() {
        return read(confFile());
    }

    /** {@code nginx -t}: exit code and combined output. Needs no running nginx. */
    public ProcessResult testConfig() {
        return nginx("-t");
    }

    /** Runs the binary with {@code -p <prefix> -c conf/nginx.conf} and more arguments. */
    public ProcessResult nginx(String... args) {
        List<String> cmd = new ArrayList<>(List.of(nginxBin.toString(), "-p", prefix + "/",
                "-c", "conf/nginx.conf"));
        cmd.addAll(Arrays.asList(args));
        return Processes.run(cmd, prefix, timeout);
    }

    // ------------------------------------------------------------ lifecycle

    /**
     * Starts nginx (it daemonizes), waits for the pid file, for the workers
     * and for {@link #port()} to accept when the config mentions that port.
     */
    public void start() {
        if (isRunning()) {
            throw new NginxException("nginx already running, master pid " + masterPid);
        }
        if (!Files.exists(confFile())) {
            throw new NginxException("no " + confFile() + ": call writeConfig first");
        }
        String conf = config();
        if (MASTER_OFF.matcher(conf).find()) {
            throw new NginxException("NginxInstance runs nginx with a master process;"
                    + " remove 'master_process off'");
        }
        try {
            Files.deleteIfExists(pidFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ProcessResult r = nginx();
        if (!r.ok()) {
            throw new NginxException("nginx failed to start (" + r + ")" + errorLogTail(30));
        }
        long deadline = deadline();
        while (true) {
            long pid = readPid();
            if (pid > 0 && ProcInfo.of(pid) != null) {
                masterPid = pid;
                masterStart = ProcInfo.of(pid).startTime;
                seenPids.add(pid);
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new NginxException("nginx started but wrote no live pid to " + pidFile()
                        + errorLogTail(30));
            }
            sleep(10);
        }
        waitForWorkers(Set.of(), deadline);
        if (waitForPort && (conf.contains(":" + port() + ";") || conf.contains(":" + port() + " "))) {
            waitForPort(port(), deadline);
        }
    }

    /**
     * {@code nginx -s reload}, then waits until all old workers have exited
     * and the new ones are up. A reload that nginx rejects (a new
     * {@code [emerg]} in error.log) throws {@link NginxException}.
     */
    public void reload() {
        requireRunning();
        List<Long> old = workerPids();
        long logOffset = size(errorLogFile());
        ProcessResult r = nginx("-s", "reload");
        if (!r.ok()) {
            throw new NginxException("nginx -s reload failed (" + r + ")");
        }
        long deadline = deadline();
        while (true) {
            String fresh = readFrom(errorLogFile(), logOffset);
            if (fresh.contains("[emerg]")) {
                throw new NginxException("reload rejected by nginx:\n" + fresh);
            }
            boolean oldGone = old.stream().noneMatch(p -> ProcInfo.of(p) != null);
            List<Long> now = workerPids();
            boolean newUp = now.stream().noneMatch(old::contains) && enoughWorkers(now.size());
            if (oldGone && newUp) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new NginxException("reload did not finish within " + timeout.toMillis()
                        + " ms: old workers " + old + ", workers now " + now
                        + ", old still alive " + old.stream().filter(p -> ProcInfo.of(p) != null).toList()
                        + errorLogTail(20));
            }
            sleep(10);
        }
    }

    /**
     * Graceful stop: {@code nginx -s quit} (or {@code kill -QUIT <master>}
     * when {@code nginx -s} fails, e.g. on a config a test broke), then
     * waits for the master to exit.
     *
     * @return milliseconds from the signal to the master's exit
     * @throws NginxException when it does not exit within the timeout
     */
    public long quit() {
        return stopWith("quit");
    }

    /** Fast stop: {@code nginx -s stop}; returns elapsed milliseconds like {@link #quit()}. */
    public long stop() {
        return stopWith("stop");
    }

    private long stopWith(String signal) {
        requireRunning();
        workerPids(); // remember them for close()
        long t0 = System.nanoTime();
        ProcessResult r = nginx("-s", signal);
        if (!r.ok()) {
            // "nginx -s" parses the config first; when a test left it broken,
            // signal the master directly (QUIT = graceful, TERM = fast)
            ProcessResult k = Processes.run(List.of("kill", signal.equals("quit") ? "-QUIT" : "-TERM",
                    Long.toString(masterPid)), prefix, timeout);
            if (!k.ok()) {
                throw new NginxException("nginx -s " + signal + " failed (" + r + ") and so did kill ("
                        + k + ")");
            }
        }
        long deadline = deadline();
        while (isRunning()) {
            if (System.nanoTime() > deadline) {
                throw new NginxException("nginx master " + masterPid + " still running "
                        + timeout.toMillis() + " ms after -s " + signal
                        + "; processes: " + describe(childrenOf(masterPid)) + errorLogTail(20));
            }
            sleep(5);
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    /** Whether the master started by {@link #start()} is still alive. */
    public boolean isRunning() {
        if (masterPid <= 0) {
            return false;
        }
        ProcInfo p = ProcInfo.of(masterPid);
        return p != null && p.startTime == masterStart;
    }

    public long masterPid() {
        return masterPid;
    }

    /** Whether a process exists and is not a zombie (an exited daemon may wait a moment for its reaper). */
    public static boolean isAlive(long pid) {
        return ProcInfo.of(pid) != null;
    }

    /** Pids of the master's worker processes that are not shutting down, sorted. */
    public List<Long> workerPids() {
        if (!isRunning()) {
            return List.of();
        }
        List<Long> out = new ArrayList<>();
        for (ProcInfo p : childrenOf(masterPid)) {
            seenPids.add(p.pid);
            String cmd = cmdline(p.pid);
            if (cmd.startsWith("nginx: worker process") && !cmd.contains("shutting down")) {
                out.add(p.pid);
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /** Pids of the master's children whose title starts with {@code "nginx: " + title}, sorted. */
    public List<Long> childPids(String title) {
        if (!isRunning()) {
            return List.of();
        }
        List<Long> out = new ArrayList<>();
        for (ProcInfo p : childrenOf(masterPid)) {
            seenPids.add(p.pid);
            if (cmdline(p.pid).startsWith("nginx: " + title)) {
                out.add(p.pid);
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /**
     * Stops nginx whatever state it is in: fast stop, then {@code kill -9}
     * of the master and every nginx process it ever had; then deletes the
     * prefix unless kept.
     */
    @Override
    public void close() {
        try {
            if (isRunning()) {
                try {
                    stop();
                } catch (RuntimeException e) {
                    // fall through to kill -9
                }
            }
            if (masterPid > 0) {
                childrenOf(masterPid).forEach(p -> seenPids.add(p.pid));
            }
            for (long pid : seenPids) {
                ProcInfo p = ProcInfo.of(pid);
                if (p != null && cmdline(pid).startsWith("nginx:")
                        && (pid != masterPid || p.startTime == masterStart)) {
                    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        } finally {
            if (!keepPrefix) {
                deleteTree(prefix);
            }
        }
    }

    // ----------------------------------------------------------------- logs

    /** The whole error.log ("" when none yet). */
    public String errorLog() {
        return read(errorLogFile());
    }

    /** The access.log lines. */
    public List<String> accessLog() {
        String s = read(accessLogFile());
        return s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }

    /**
     * The access log once it has {@code lines} lines (or after 5 s, as it
     * is): nginx logs a request after it has answered, so the client may
     * see the answer before the line is written.
     */
    public List<String> accessLog(int lines) throws InterruptedException {
        List<String> log = accessLog();
        for (int i = 0; i < 250 && log.size() < lines; i++) {
            Thread.sleep(20);
            log = accessLog();
        }
        return log;
    }

    /** "\n--- error.log (last n lines) ---\n..." for failure messages, or "". */
    public String errorLogTail(int n) {
        String log = errorLog();
        if (log.isEmpty()) {
            return "";
        }
        List<String> lines = List.of(log.split("\n"));
        List<String> tail = lines.subList(Math.max(0, lines.size() - n), lines.size());
        return "\n--- " + errorLogFile() + " (last " + tail.size() + " lines) ---\n"
                + String.join("\n", tail);
    }

    // -------------------------------------------------------------- helpers

    private Path pidFile() {
        return prefix.resolve("logs/nginx.pid");
    }

    private long readPid() {
        try {
            String s = Files.readString(pidFile()).trim();
            return s.isEmpty() ? -1 : Long.parseLong(s);
        } catch (NoSuchFileException e) {
            return -1;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    private void requireRunning() {
        if (!isRunning()) {
            throw new NginxException("nginx is not running" + errorLogTail(20));
        }
    }

    private long deadline() {
        return System.nanoTime() + timeout.toNanos();
    }

    /** The worker count the current config asks for, or -1 when unknown ("auto"). */
    private int expectedWorkers() {
        Matcher m = WORKER_PROCESSES.matcher(config());
        if (!m.find()) {
            return 1;
        }
        try {
            return Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private boolean enoughWorkers(int n) {
        int expected = expectedWorkers();
        return expected < 0 ? n > 0 : n >= expected;
    }

    private void waitForWorkers(Set<Long> exclude, long deadline) {
        while (true) {
            List<Long> w = workerPids();
            w.removeAll(exclude);
            if (enoughWorkers(w.size())) {
                return;
            }
            if (!isRunning()) {
                throw new NginxException("nginx master exited during start-up" + errorLogTail(30));
            }
            if (System.nanoTime() > deadline) {
                throw new NginxException("nginx workers not up within " + timeout.toMillis()
                        + " ms (want " + expectedWorkers() + ", have " + w + ")" + errorLogTail(30));
            }
            sleep(10);
        }
    }

    private void waitForPort(int port, long deadline) {
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new NginxException("nothing accepts on 127.0.0.1:" + port
                            + " within " + timeout.toMillis() + " ms" + errorLogTail(30));
                }
                sleep(10);
            }
        }
    }

    private static int[] freePorts(int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket();
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    static String read(Path p) {
        try {
            return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String readFrom(Path p, long offset) {
        String s = read(p);
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return offset >= b.length ? "" : new String(b, (int) offset, b.length - (int) offset,
                StandardCharsets.UTF_8);
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NginxException("interrupted", e);
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException | UncheckedIOException ignored) {
            // best effort
        }
    }

    private static String cmdline(long pid) {
        try {
            byte[] b = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return new String(b, StandardCharsets.UTF_8).replace('\0', ' ').trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static String describe(List<ProcInfo> procs) {
        List<String> out = new ArrayList<>();
        for (ProcInfo p : procs) {
            out.add(p.pid + " '" + cmdline(p.pid) + "'");
        }
        return out.toString();
    }

    private static List<ProcInfo> childrenOf(long ppid) {
        List<ProcInfo> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path d : ds) {
                ProcInfo p = ProcInfo.of(Long.parseLong(d.getFileName().toString()));
                if (p != null && p.ppid == ppid) {
                    out.add(p);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new NginxException("cannot list /proc", e);
        }
        return out;
    }

    /** The fields of /proc/PID/stat the harness needs; null for a gone or zombie process. */
    private record ProcInfo(long pid, long ppid, long startTime) {

        static ProcInfo of(long pid) {
            String stat;
            try {
                stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            } catch (IOException e) {
                return null;
            }
            // "pid (comm) S ppid ..." - comm may hold spaces and parentheses
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (f[0].equals("Z") || f[0].equals("X")) {
                return null;
            }
            return new ProcInfo(pid, Long.parseLong(f[1]), Long.parseLong(f[19]));
        }
    }
}
