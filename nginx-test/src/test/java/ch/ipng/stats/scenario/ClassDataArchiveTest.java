package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.NginxInstance;
import ch.ipng.stats.nginxtest.ProcessResult;
import ch.ipng.stats.nginxtest.TestEnv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The stats process's class data sharing archive (ipng_stats_cds_archive,
 * scripts/cds-archive): used when it fits the JVM and the jar, checked by
 * nginx -t, and never handed to the JVM when it does not fit, since a JVM
 * given an archive it cannot use starts without any.
 */
class ClassDataArchiveTest {

    private final List<NginxInstance> started = new ArrayList<>();

    @AfterEach
    void stopAll() {
        started.forEach(NginxInstance::close);
    }

    private NginxInstance nginx(Path jar, String extra) {
        NginxInstance n = NginxInstance.create(TestEnv.nginxBin(), 1);
        n.writeConfig("""
            %s
            http {
                ipng_stats_zone ipng:4m;
                ipng_stats_classpath %s;
                ipng_stats_flush_interval 100ms;
                %s
                access_log logs/access.log;
                server {
                    listen 127.0.0.1:%d;
                    location / { return 200 "ok\\n"; }
                    location /status { ipng_stats; access_log off; }
                }
            }
            """.formatted(NginxConf.head("notice"), jar, extra, n.port()));
        started.add(n);
        return n;
    }

    private static Path archiveOf(Path jar) {
        String name = jar.getFileName().toString();
        return jar.resolveSibling(name.substring(0, name.length() - ".jar".length()) + ".jsa");
    }

    /** Waits for the JVM's start notice number {@code starts}; whether the stats process maps {@code archive}. */
    private static boolean statsProcessMaps(NginxInstance n, Path archive, int starts) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while ((n.errorLog().split("JVM started in", -1).length - 1 < starts
                || n.childPids(StatsProcessTest.STATS).size() != 1) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        long pid = n.childPids(StatsProcessTest.STATS).get(0);
        return Files.readString(Path.of("/proc/" + pid + "/maps")).contains(archive.toString());
    }

    /** Requests counted against the access log's lines: the archive changes nothing of that. */
    private static void countsLikeTheAccessLog(NginxInstance n) throws Exception {
        Traffic.get(List.of("http://127.0.0.1:" + n.port() + "/", "http://127.0.0.1:" + n.port() + "/a"));
        Thread.sleep(500);
        Scrape s = new Scrape(Traffic.fetch("http://127.0.0.1:" + n.port() + "/status"));
        assertEquals(n.accessLog().size(), (long) s.sum("nginx_ipng_requests_total", Map.of()));
    }

    @Test
    void theStatsProcessMapsTheArchiveThatTheBuildMadeNextToTheJar() throws Exception {
        Path archive = archiveOf(TestEnv.jar());
        assertTrue(Files.isRegularFile(archive), "mvn package makes " + archive);
        NginxInstance n = nginx(TestEnv.jar(), "");
        n.start();
        assertTrue(statsProcessMaps(n, archive, 1), n.errorLog());
        assertFalse(n.errorLog().contains("class data archive"), n.errorLog());
        countsLikeTheAccessLog(n);
    }

    @Test
    void anArchiveOfAnotherJarIsRefusedWithAWarningUntilTheScriptMakesItAgain() throws Exception {
        NginxInstance n = nginx(Path.of("JAR"), "");
        Path jar = n.prefix().resolve("lib/ipng-stats.jar");
        Files.createDirectories(jar.getParent());
        Files.copy(TestEnv.jar(), jar);
        Path archive = archiveOf(jar);
        Files.copy(archiveOf(TestEnv.jar()), archive, StandardCopyOption.COPY_ATTRIBUTES);
        n.writeConfig(n.config().replace("ipng_stats_classpath JAR;", "ipng_stats_classpath " + jar + ";"));

        ProcessResult t = n.testConfig();
        assertEquals(0, t.exitCode(), t.output());
        assertTrue(t.output().contains("the class data archive \"" + archive + "\" does not fit this JVM and jar, or is damaged"),
                t.output());
        assertTrue(t.output().contains("make it again with \"cds-archive " + jar + "\""), t.output());

        n.start();
        assertFalse(statsProcessMaps(n, archive, 1), n.errorLog());
        countsLikeTheAccessLog(n);

        Process p = new ProcessBuilder("bash", TestEnv.tDir().getParent().resolve("scripts/cds-archive").toString(),
                jar.toString()).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), said);
        n.reload();
        assertTrue(statsProcessMaps(n, archive, 2), n.errorLog());
        countsLikeTheAccessLog(n);
    }

    @Test
    void aDamagedArchiveIsRefusedWithAWarning() throws Exception {
        Path jar = TestEnv.jar();
        NginxInstance n = nginx(Path.of("JAR"), "ipng_stats_cds_archive ARCHIVE;");
        Path damaged = n.prefix().resolve("damaged.jsa");
        byte[] bytes = Files.readAllBytes(archiveOf(jar));
        for (int i = bytes.length / 2; i < bytes.length / 2 + 64; i++) {
            bytes[i] ^= 0x55;
        }
        Files.write(damaged, bytes);
        n.writeConfig(n.config().replace("ipng_stats_classpath JAR;", "ipng_stats_classpath " + jar + ";")
                .replace("ARCHIVE", damaged.toString()));
        ProcessResult t = n.testConfig();
        assertEquals(0, t.exitCode(), t.output());
        assertTrue(t.output().contains("the class data archive \"" + damaged + "\" does not fit"), t.output());
        n.start();
        assertFalse(statsProcessMaps(n, damaged, 1), n.errorLog());
        countsLikeTheAccessLog(n);
    }

    @Test
    void aConfiguredArchiveMustExistAndOffTurnsItOff() throws Exception {
        NginxInstance n = nginx(TestEnv.jar(), "ipng_stats_cds_archive /nonexistent/ipng.jsa;");
        ProcessResult t = n.testConfig();
        assertNotEquals(0, t.exitCode(), t.output());
        assertTrue(t.output().contains("the class data archive \"/nonexistent/ipng.jsa\" does not exist"),
                t.output());

        n.writeConfig(n.config().replace("/nonexistent/ipng.jsa", "off"));
        n.start();
        assertFalse(statsProcessMaps(n, archiveOf(TestEnv.jar()), 1), n.errorLog());
        countsLikeTheAccessLog(n);
    }
}
