package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.ProcessResult;
import ch.ipng.stats.nginxtest.Processes;
import ch.ipng.stats.nginxtest.TestEnv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Loading the module changes nothing else about nginx (nginx's own test
 * suite, run by scripts/nginx-tests, is the wide proof): reloads beside a
 * module that replaces the environment, a signal process that touches no
 * socket and starts no JVM, a configuration check that runs as the worker
 * user, and no jar the workers could change.
 */
class NginxUnchangedTest {

    static final Path PERL = Path.of("/usr/lib/nginx/modules/ngx_http_perl_module.so");

    private NginxInstance nginx;
    private Path scratch;

    @BeforeEach
    void setUp() throws IOException {
        nginx = NginxInstance.create();
        scratch = Files.createTempDirectory(Path.of(System.getProperty("ipng.tmp.dir",
            System.getProperty("java.io.tmpdir"))), "ipng-unchanged-");
        Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void tearDown() throws IOException {
        nginx.close();
        Traffic.exec(List.of("rm", "-rf", scratch.toString()));
    }

    private String config(String loads, String http, String server) {
        return loads
            + "worker_processes 2;\nerror_log logs/error.log info;\npid logs/nginx.pid;\n"
            + "events { worker_connections 1024; }\n"
            + "http {\n"
            + "    ipng_stats_zone ipng:1m;\n"
            + "    ipng_stats_flush_interval 100ms;\n"
            + "    " + AccessLog.FORMAT + "\n"
            + "    access_log logs/access.log counts;\n"
            + http + "\n"
            + "    server {\n"
            + "        listen 127.0.0.1:" + nginx.port() + ";\n"
            + server + "\n"
            + "        location /status { ipng_stats; access_log off; }\n"
            + "    }\n"
            + "}\n";
    }

    private static String classpath(Path jar) {
        return "    ipng_stats_classpath " + jar + ";\n";
    }

    /** nginx's perl module replaces the master's environment; reloads still find the JVM. */
    @ParameterizedTest(name = "perl loaded {0} the module")
    @ValueSource(strings = {"before", "after"})
    void reloadsAndCountsBesideThePerlModule(String order) throws Exception {
        if (!Files.isReadable(PERL)) {
            fail(PERL + " is missing: apt-get install libnginx-mod-http-perl (scripts/install-deps does)");
        }
        String perl = "load_module " + PERL + ";\n";
        String ours = "load_module " + TestEnv.module() + ";\n";
        nginx.writeConfig(config(order.equals("before") ? perl + ours : ours + perl,
            classpath(TestEnv.jar()) + "    perl_set $from_perl 'sub { \"perl\" }';",
            "        location / { return 200 \"$from_perl\\n\"; }"));
        nginx.start();
        String base = "http://127.0.0.1:" + nginx.port();
        assertEquals("perl\n", Traffic.fetch(base + "/"));
        for (int reload = 0; reload < 3; reload++) {
            Traffic.get(Traffic.urls("http", "127.0.0.1", nginx.port(), 5, "/", "/missing"));
            nginx.reload();
        }
        Traffic.get(Traffic.urls("http", "127.0.0.1", nginx.port(), 3, "/"));
        assertFalse(nginx.errorLog().contains("cannot find a JVM"), nginx.errorLogTail(20));
        assertEquals(loggedPerCode(1 + 3 * 5 + 3), countedPerCode(base));
    }

    private Map<String, Long> loggedPerCode(int requests) throws InterruptedException {
        Map<String, Long> out = new TreeMap<>();
        for (String line : nginx.accessLog(requests)) {
            out.merge(line.split(" ")[1], 1L, Long::sum);
        }
        return out;
    }

    private static Map<String, Long> countedPerCode(String base) {
        Map<String, Long> out = new TreeMap<>();
        for (Scrape.Sample s : new Scrape(Traffic.fetch(base + "/status")).named("nginx_ipng_requests_total")) {
            out.merge(s.label("code"), (long) s.value(), Long::sum);
        }
        return out;
    }

    /**
     * {@code nginx -s reload} only signals: no socket, bind or listen, no JVM,
     * here or in a child, although the configuration has a device socket
     * beside a plain one on its address (which the master must arrange).
     */
    @Test
    void theSignalProcessOpensNoSocketAndStartsNoJvm() throws IOException {
        String device = "        listen 127.0.0.1:" + nginx.port() + " device=lo ipng_source_tag=lo;\n"
            + "        location / { return 200; }";
        nginx.writeConfig(config("load_module " + TestEnv.module() + ";\n", classpath(TestEnv.jar()), device));
        nginx.start();
        List<String> calls = strace("socket,bind,listen,execve", "-s", "reload");
        List<String> wrong = calls.stream()
            .filter(c -> c.contains("bind(") || c.contains("listen(") || c.contains("AF_INET")
                || (c.contains("execve(") && !c.contains("execve(\"" + TestEnv.nginxBin() + "\"")))
            .toList();
        assertEquals(List.of(), wrong, String.join("\n", calls));
        assertTrue(calls.stream().anyMatch(c -> c.contains("execve(")), "strace saw nothing:\n" + calls);
        nginx.reload();
        assertEquals(200, Traffic.get(List.of("http://127.0.0.1:" + nginx.port() + "/")).get(0));
    }

    /** {@code nginx -t} as root runs its JVM check as the worker user. */
    @Test
    void theConfigurationCheckRunsItsJvmAsTheWorkerUser() throws IOException {
        Privileges.requireRoot("this test");
        nginx.writeConfig(config("load_module " + TestEnv.module() + ";\n", classpath(TestEnv.jar()),
            "        location / { return 200; }"));
        List<String> calls = strace("setuid,execve", "-t");
        Pattern setuid = Pattern.compile("^(\\d+) +setuid\\((\\d+)\\) += 0");
        Pattern java = Pattern.compile("^(\\d+) +execve\\(\"[^\"]*/bin/java\"");
        Map<String, String> uidByPid = new TreeMap<>();
        String javaPid = null;
        for (String c : calls) {
            Matcher m = setuid.matcher(c);
            if (m.find()) {
                uidByPid.put(m.group(1), m.group(2));
            }
            Matcher j = java.matcher(c);
            if (j.find()) {
                javaPid = j.group(1);
                break;
            }
        }
        String all = String.join("\n", calls);
        assertTrue(javaPid != null, "no java started by nginx -t:\n" + all);
        String uid = uidByPid.get(javaPid);
        assertTrue(uid != null && !uid.equals("0"), "the check's java did not drop root:\n" + all);
        assertEquals(Traffic.exec(List.of("id", "-u", "nobody")).trim(), uid, all);
    }

    /** A jar (or archive) the workers could write or replace would run their code in nginx: refused. */
    @Test
    void refusesAJarOrArchiveTheWorkerUserCanChange() throws IOException {
        Privileges.requireRoot("this test");
        Path dir = Files.createDirectory(scratch.resolve("dist"));
        Path jar = Files.copy(TestEnv.jar(), dir.resolve("ipng-stats.jar"));
        Path archive = Files.copy(TestEnv.jar(), dir.resolve("other.jsa"));
        String loads = "load_module " + TestEnv.module() + ";\n";
        String server = "        location / { return 200; }";

        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-rw-rw-"));
        nginx.writeConfig(config(loads, classpath(jar), server));
        assertRefused("the jar \"" + jar + "\" can be changed by the worker user");

        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertRefused("the jar \"" + jar + "\" is in a directory the worker user can write");

        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(archive, PosixFilePermissions.fromString("rw-rw-rw-"));
        nginx.writeConfig(config(loads, classpath(jar) + "    ipng_stats_cds_archive " + archive + ";", server));
        assertRefused("the class data archive \"" + archive + "\" can be changed by the worker user");

        nginx.writeConfig(config(loads, classpath(jar), server));
        ProcessResult ok = nginx.testConfig();
        assertTrue(ok.ok(), ok.toString());
    }

    private void assertRefused(String message) {
        ProcessResult r = nginx.testConfig();
        assertFalse(r.ok(), r.toString());
        assertTrue(r.output().contains(message), r.toString());
    }

    /** strace -f of "nginx ARGS" (the test's own nginx prefix): one line per system call. */
    private List<String> strace(String calls, String... args) throws IOException {
        Path out = scratch.resolve("strace." + System.nanoTime());
        List<String> cmd = new ArrayList<>(List.of("strace", "-f", "-qq", "-e", "trace=" + calls,
            "-o", out.toString(), TestEnv.nginxBin().toString(), "-p", nginx.prefix() + "/",
            "-c", "conf/nginx.conf"));
        cmd.addAll(List.of(args));
        ProcessResult r = Processes.run(cmd, nginx.prefix(), Duration.ofSeconds(60));
        if (!Files.exists(out)) {
            fail("strace did not run (apt-get install strace; scripts/install-deps does): " + r);
        }
        return Files.readAllLines(out);
    }
}
