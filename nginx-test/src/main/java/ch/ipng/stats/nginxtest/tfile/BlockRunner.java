package ch.ipng.stats.nginxtest.tfile;

import ch.ipng.stats.nginxtest.Curl;
import ch.ipng.stats.nginxtest.NginxException;
import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.ProcessResult;
import ch.ipng.stats.nginxtest.Processes;
import ch.ipng.stats.nginxtest.RawHttp;
import ch.ipng.stats.nginxtest.RawHttp.Request;
import ch.ipng.stats.nginxtest.RawHttp.Response;
import ch.ipng.stats.nginxtest.TestEnv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/**
 * Runs one block: writes nginx.conf, starts nginx (master + workers), sends
 * the request(s), checks, stops nginx gracefully, checks the logs again.
 * Every problem is an {@link AssertionError} whose message carries the
 * error.log tail and the generated nginx.conf.
 */
public final class BlockRunner {

    /** Markers in error.log that fail any block that does not expect them via --- error_log. */
    public static final List<String> FATAL_MARKERS =
            List.of("[emerg]", "exited on signal", "exited with fatal code");

    /** How long an expected --- error_log line may take to show up after the response. */
    private static final Duration LOG_GRACE = Duration.ofSeconds(3);

    /** What the runner needs to know about the environment. */
    public record Settings(Path nginxBin, Path module, Path jar, boolean ci) {

        public static Settings fromEnv() {
            return new Settings(TestEnv.nginxBin(), TestEnv.module(), TestEnv.jar(), TestEnv.ci());
        }
    }

    private final TBlock raw;
    private final Settings settings;
    private Duration timeout = RawHttp.DEFAULT_TIMEOUT;
    private TBlock block;
    private NginxInstance nginx;
    private Response last;

    private BlockRunner(TBlock raw, Settings settings) {
        this.raw = raw;
        this.settings = settings;
    }

    /** Runs the block; returns normally when it passes. */
    public static void run(TBlock block, Settings settings) {
        new BlockRunner(block, settings).run();
    }

    private void run() {
        String where = raw.file() + ":" + raw.line() + " (" + raw.header() + ")";
        if (!raw.errors().isEmpty()) {
            throw new AssertionFailedError(where + ": the block is malformed:\n  "
                    + String.join("\n  ", raw.errors()));
        }
        if (raw.has("skip")) {
            String reason = raw.section("skip").get().text();
            if (reason.isEmpty()) {
                throw new AssertionFailedError(where + ": '--- skip' needs a reason"
                        + " ('--- skip: why')");
            }
            if (settings.ci()) {
                throw new AssertionFailedError(where + ": skipped ('" + reason
                        + "') but CI=true: a skip must not hide coverage in CI");
            }
            throw new TestAbortedException("--- skip: " + reason);
        }
        if (raw.has("ONLY") && settings.ci()) {
            throw new AssertionFailedError(where + ": '--- ONLY' left in the file; with CI=true"
                    + " that would hide the file's other blocks");
        }
        try {
            validate();
            requireBuilt();
            nginx = NginxInstance.create(settings.nginxBin(), 2);
            ConfigGenerator.Context ctx = new ConfigGenerator.Context(settings.module(),
                    settings.jar(), nginx.prefix(), nginx.port(0), nginx.port(1),
                    settings.nginxBin());
            block = raw.mapValues(ctx::substitute);
            nginx.writeConfig(ConfigGenerator.generate(block, ctx));
            if (block.has("must_die")) {
                runMustDie();
            } else {
                runLive();
            }
        } catch (TestAbortedException e) {
            throw e;
        } catch (AssertionFailedError e) {
            throw new AssertionFailedError(where + ": " + e.getMessage() + context(),
                    e.getExpected() == null ? null : e.getExpected().getValue(),
                    e.getActual() == null ? null : e.getActual().getValue(), e);
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionFailedError(where + ": " + e + context(), e);
        } finally {
            if (nginx != null) {
                nginx.close();
            }
        }
    }

    // -------------------------------------------------------------- phases

    private void validate() {
        if (raw.has("request") && raw.has("pipelined_requests")) {
            fail("use either '--- request' or '--- pipelined_requests', not both");
        }
        if (raw.has("must_die")) {
            for (String s : List.of("request", "pipelined_requests", "pre_requests", "shell",
                    "response_body", "response_body_like", "response_headers", "error_code")) {
                if (raw.has(s)) {
                    fail("'--- must_die' blocks never start nginx; '--- " + s + "' cannot apply");
                }
            }
        }
        ConfigGenerator.workers(raw);
        if (raw.has("timeout")) {
            timeout = seconds("timeout");
        }
        if (raw.has("wait")) {
            seconds("wait");
        }
        codes();
        for (String s : List.of("error_log", "no_error_log")) {
            raw.section(s).ifPresent(sec -> sec.lines().forEach(BlockRunner::logPattern));
        }
    }

    private void requireBuilt() {
        if (ConfigGenerator.loadsModule(raw) && !Files.isRegularFile(settings.module())) {
            fail("the module is not built: " + settings.module() + " is missing. Build it with"
                    + " 'mvn compile' in the repository root (native/build.sh), or pass"
                    + " -Dipng.module=/path/to/ngx_http_ipng_stats_module.so");
        }
        if (ConfigGenerator.needsClasspath(raw) && !Files.isRegularFile(settings.jar())) {
            fail("the stats jar is not built: " + settings.jar() + " is missing. Build it with"
                    + " 'mvn package' in the repository root, or pass -Dipng.jar=...");
        }
    }

    private void runMustDie() {
        ProcessResult r = nginx.testConfig();
        if (r.ok()) {
            fail("'--- must_die': nginx -t accepted the config:\n" + r.output());
        }
        checkLog("nginx -t output", r.output(), Duration.ZERO, () -> r.output());
    }

    private void runLive() {
        try {
            nginx.start();
        } catch (NginxException e) {
            fail("nginx did not start: " + e.getMessage());
        }
        preRequests();
        shell();
        List<Response> responses = requests();
        if (block.has("wait")) {
            sleep(seconds("wait"));
        }
        if (!responses.isEmpty()) {
            checkResponses(responses);
        }
        checkLog("error.log", null, LOG_GRACE, nginx::errorLog);

        long ms;
        try {
            ms = nginx.quit();
        } catch (NginxException e) {
            fail("graceful shutdown (nginx -s quit) did not finish: " + e.getMessage());
            return;
        }
        // after the stop: what workers logged while exiting counts too
        checkNoErrorLog("error.log after nginx -s quit (" + ms + " ms)", nginx.errorLog());
        checkFatal(nginx.errorLog());
    }

    private void preRequests() {
        for (String line : block.section("pre_requests").map(Section::lines).orElse(List.of())) {
            String[] t = line.split("\\s+");
            if (t.length < 2) {
                fail("--- pre_requests: want 'METHOD URI [xN] [keepalive]', got '" + line + "'");
            }
            int n = 1;
            boolean keepalive = false;
            for (int i = 2; i < t.length; i++) {
                if (t[i].matches("x\\d+")) {
                    n = Integer.parseInt(t[i].substring(1));
                } else if (t[i].equals("keepalive")) {
                    keepalive = true;
                } else {
                    fail("--- pre_requests: unknown word '" + t[i] + "' in '" + line
                            + "' (want 'METHOD URI [xN] [keepalive]')");
                }
            }
            Request r = withMoreHeaders(new Request(t[0], t[1]));
            try {
                if (keepalive) {
                    RawHttp.sendAll(nginx.port(), Collections.nCopies(n, r), timeout);
                } else {
                    for (int i = 0; i < n; i++) {
                        RawHttp.send(nginx.port(), r, timeout);
                    }
                }
            } catch (RuntimeException e) {
                fail("--- pre_requests '" + line + "' failed: " + e);
            }
        }
    }

    private void shell() {
        if (!block.has("shell")) {
            return;
        }
        String script = block.value("shell");
        Map<String, String> env = new java.util.HashMap<>();
        ConfigGenerator.Context ctx = new ConfigGenerator.Context(settings.module(), settings.jar(),
                nginx.prefix(), nginx.port(0), nginx.port(1), settings.nginxBin());
        env.putAll(ctx.variables());
        env.put("TEST_NGINX_T_DIR", TestEnv.tDir().toString());
        Duration limit = timeout.compareTo(Duration.ofSeconds(60)) > 0 ? timeout : Duration.ofSeconds(60);
        ProcessResult r = Processes.run(List.of("bash", "-euo", "pipefail", "-c", script),
                nginx.prefix(), limit, env);
        if (!r.ok()) {
            fail("--- shell failed (" + r + ")\nscript:\n" + script);
        }
    }

    private List<Response> requests() {
        List<Request> reqs = new ArrayList<>();
        if (block.has("request")) {
            reqs.add(parseRequest(block.value("request")));
        } else if (block.has("pipelined_requests")) {
            for (String line : block.section("pipelined_requests").get().lines()) {
                reqs.add(parseRequest(line));
            }
            if (reqs.isEmpty()) {
                fail("--- pipelined_requests is empty");
            }
        }
        if (reqs.isEmpty()) {
            return List.of();
        }
        try {
            if (block.has("http2")) {
                return Curl.http2(nginx.port(), reqs, timeout);
            }
            if (block.has("request")) {
                Request r = reqs.get(0).withDefault("Connection", "close");
                return List.of(RawHttp.send(nginx.port(), r, timeout));
            }
            return RawHttp.pipeline(nginx.port(), reqs, timeout);
        } catch (RuntimeException e) {
            fail("request " + reqs + " failed: " + e);
            return List.of();
        }
    }

    private Request parseRequest(String text) {
        String[] lines = text.split("\n", 2);
        String[] t = lines[0].strip().split("\\s+");
        if (t.length < 2 || t.length > 3) {
            fail("a request line wants 'METHOD URI [PROTOCOL]', got '" + lines[0] + "'");
        }
        Request r = new Request(t[0], t[1]);
        if (t.length == 3) {
            r = r.protocol(t[2]);
        }
        if (lines.length > 1 && !lines[1].isEmpty()) {
            String body = lines[1].endsWith("\n") ? lines[1].substring(0, lines[1].length() - 1) : lines[1];
            r = r.body(body);
        }
        return withMoreHeaders(r);
    }

    private Request withMoreHeaders(Request r) {
        for (String h : block.section("more_headers").map(Section::lines).orElse(List.of())) {
            int colon = h.indexOf(':');
            if (colon <= 0) {
                fail("--- more_headers: want 'Name: value', got '" + h + "'");
            }
            r = r.header(h.substring(0, colon).strip(), h.substring(colon + 1).strip());
        }
        return r;
    }

    // -------------------------------------------------------------- checks

    private void checkResponses(List<Response> rs) {
        last = rs.get(rs.size() - 1);
        List<Integer> codes = codes();
        if (codes.isEmpty()) {
            codes = List.of(200);
        }
        if (codes.size() == rs.size()) {
            for (int i = 0; i < rs.size(); i++) {
                if (rs.get(i).status() != codes.get(i)) {
                    throw new AssertionFailedError("--- error_code: response " + (i + 1) + " of "
                            + rs.size() + " has status " + rs.get(i).status() + ", want "
                            + codes.get(i) + "\n" + rs.get(i), codes.get(i), rs.get(i).status());
                }
            }
        } else if (codes.size() == 1) {
            if (last.status() != codes.get(0)) {
                throw new AssertionFailedError("--- error_code: status " + last.status() + ", want "
                        + codes.get(0) + "\n" + last, codes.get(0), last.status());
            }
        } else {
            fail("--- error_code lists " + codes.size() + " codes for " + rs.size()
                    + " responses; give one code, or one per request");
        }

        String body = last.bodyText();
        block.section("response_body").ifPresent(s -> {
            if (!s.value().equals(body)) {
                throw new AssertionFailedError("--- response_body differs", s.value(), body);
            }
        });
        block.section("response_body_like").ifPresent(s -> {
            if (!regex(s).matcher(body).find()) {
                throw new AssertionFailedError("--- response_body_like /" + pattern(s)
                        + "/ does not match the body:\n" + body);
            }
        });
        block.section("response_body_unlike").ifPresent(s -> {
            if (regex(s).matcher(body).find()) {
                throw new AssertionFailedError("--- response_body_unlike /" + pattern(s)
                        + "/ matches the body:\n" + body);
            }
        });
        block.section("response_headers").ifPresent(s -> {
            for (String line : s.lines()) {
                if (line.startsWith("!")) {
                    String name = line.substring(1).strip();
                    if (!last.headers(name).isEmpty()) {
                        throw new AssertionFailedError("--- response_headers: header " + name
                                + " should be absent but is " + last.headers(name));
                    }
                    continue;
                }
                String[] nv = header(line, "response_headers");
                List<String> got = last.headers(nv[0]);
                if (!got.contains(nv[1])) {
                    throw new AssertionFailedError("--- response_headers: " + nv[0] + " is "
                            + (got.isEmpty() ? "absent" : got.toString()) + ", want '" + nv[1] + "'",
                            nv[1], got.isEmpty() ? null : String.join(", ", got));
                }
            }
        });
        block.section("response_headers_like").ifPresent(s -> {
            for (String line : s.lines()) {
                String[] nv = header(line, "response_headers_like");
                Pattern p = compile(nv[1], "response_headers_like");
                List<String> got = last.headers(nv[0]);
                if (got.stream().noneMatch(v -> p.matcher(v).find())) {
                    throw new AssertionFailedError("--- response_headers_like: " + nv[0] + " is "
                            + (got.isEmpty() ? "absent" : got.toString()) + ", want /" + nv[1] + "/");
                }
            }
        });
    }

    /**
     * --- error_log lines must appear (polling up to {@code grace}),
     * --- no_error_log lines must not, and no fatal marker may appear.
     */
    private void checkLog(String what, String fixed, Duration grace,
            java.util.function.Supplier<String> text) {
        List<String> want = block.section("error_log").map(Section::lines).orElse(List.of());
        long deadline = System.nanoTime() + grace.toNanos();
        for (String w : want) {
            while (!logPattern(w).test(text.get())) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionFailedError("--- error_log: '" + w + "' not found in " + what
                            + (fixed != null ? ":\n" + fixed : ""));
                }
                sleep(Duration.ofMillis(50));
            }
        }
        checkNoErrorLog(what, text.get());
        if (fixed == null) {
            checkFatal(text.get());
        }
    }

    private void checkNoErrorLog(String what, String text) {
        for (String n : block.section("no_error_log").map(Section::lines).orElse(List.of())) {
            if (logPattern(n).test(text)) {
                throw new AssertionFailedError("--- no_error_log: '" + n + "' found in " + what
                        + ":\n" + matchingLines(text, n));
            }
        }
    }

    private void checkFatal(String log) {
        List<String> want = block.section("error_log").map(Section::lines).orElse(List.of());
        for (String marker : FATAL_MARKERS) {
            boolean expected = want.stream().anyMatch(w -> w.contains(marker));
            if (!expected && log.contains(marker)) {
                throw new AssertionFailedError("error.log contains '" + marker
                        + "' (add it to --- error_log if the block expects it):\n"
                        + matchingLines(log, marker));
            }
        }
    }

    // ------------------------------------------------------------- helpers

    /** A --- error_log line: a substring, or qr/regex/ for a Java regex. */
    static java.util.function.Predicate<String> logPattern(String line) {
        if (line.length() >= 4 && line.startsWith("qr/") && line.endsWith("/")) {
            Pattern p = compile(line.substring(3, line.length() - 1), "error_log");
            return s -> p.matcher(s).find();
        }
        return s -> s.contains(line);
    }

    private static String matchingLines(String text, String needle) {
        java.util.function.Predicate<String> p = logPattern(needle);
        List<String> out = text.lines().filter(p).limit(10).toList();
        return out.isEmpty() ? "(in the text as a whole)" : String.join("\n", out);
    }

    private List<Integer> codes() {
        String v = raw.value("error_code");
        if (v == null) {
            return List.of();
        }
        List<Integer> out = new ArrayList<>();
        for (String t : v.strip().split("[\\s,]+")) {
            if (t.isEmpty()) {
                continue;
            }
            try {
                out.add(Integer.parseInt(t));
            } catch (NumberFormatException e) {
                fail("--- error_code: '" + t + "' is not a status code");
            }
        }
        return out;
    }

    private Duration seconds(String section) {
        String v = raw.value(section).strip();
        try {
            double s = Double.parseDouble(v);
            if (s < 0) {
                throw new NumberFormatException();
            }
            return Duration.ofMillis((long) (s * 1000));
        } catch (NumberFormatException e) {
            fail("--- " + section + ": wants seconds, got '" + v + "'");
            return Duration.ZERO;
        }
    }

    private static String pattern(Section s) {
        String v = s.value();
        return v.endsWith("\n") ? v.substring(0, v.length() - 1) : v;
    }

    private static Pattern regex(Section s) {
        return compile(pattern(s), s.name());
    }

    private static Pattern compile(String p, String section) {
        try {
            return Pattern.compile(p, Pattern.DOTALL | Pattern.MULTILINE);
        } catch (PatternSyntaxException e) {
            throw new AssertionFailedError("--- " + section + ": bad regex: " + e.getMessage());
        }
    }

    private static String[] header(String line, String section) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
            throw new AssertionFailedError("--- " + section + ": want 'Name: value', got '"
                    + line + "'");
        }
        return new String[] {line.substring(0, colon).strip(), line.substring(colon + 1).strip()};
    }

    private static void fail(String message) {
        throw new AssertionFailedError(message);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NginxException("interrupted", e);
        }
    }

    private String context() {
        if (nginx == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        if (last != null) {
            sb.append("\n--- last response ---\n").append(last);
        }
        sb.append(nginx.errorLogTail(40));
        String conf = nginx.config();
        if (!conf.isEmpty()) {
            sb.append("\n--- ").append(nginx.confFile()).append(" ---\n");
            String[] lines = conf.split("\n");
            for (int i = 0; i < lines.length; i++) {
                sb.append(String.format("%3d  %s%n", i + 1, lines[i]));
            }
        }
        return sb.toString();
    }
}
