package ch.ipng.stats.nginxtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** NginxInstance and RawHttp against stock nginx (no module). */
class NginxInstanceTest {

    private static String conf(NginxInstance n, int workers, String body) {
        return "worker_processes " + workers + ";\n"
                + "error_log logs/error.log info;\npid logs/nginx.pid;\n"
                + "events { worker_connections 64; }\n"
                + "http {\n access_log logs/access.log;\n client_body_temp_path client_body_temp;\n"
                + " server {\n  listen 127.0.0.1:" + n.port() + ";\n"
                + "  location / { return 200 \"" + body + " $connection_requests\"; }\n }\n}\n";
    }

    @Test
    void startsServesReloadsAndQuits() throws InterruptedException {
        Path prefix;
        try (NginxInstance n = NginxInstance.create()) {
            prefix = n.prefix();
            assertTrue(Files.isDirectory(n.htmlDir()));
            for (Path d : List.of(prefix, prefix.resolve("conf"), prefix.resolve("logs"), n.htmlDir())) {
                assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(d)), d.toString());
            }
            n.writeConfig(conf(n, 2, "one"));
            assertTrue(n.testConfig().ok(), () -> n.testConfig().toString());
            n.start();
            assertTrue(n.isRunning());
            List<Long> before = n.workerPids();
            assertEquals(2, before.size(), before::toString);

            RawHttp.Response r = RawHttp.send(n.port(), RawHttp.Request.get("/"));
            assertEquals(200, r.status());
            assertEquals("one 1", r.bodyText());

            List<RawHttp.Response> ka = RawHttp.sendAll(n.port(),
                    Collections.nCopies(3, RawHttp.Request.get("/")));
            assertEquals("one 3", ka.get(2).bodyText());
            List<RawHttp.Response> pl = RawHttp.pipeline(n.port(),
                    Collections.nCopies(4, RawHttp.Request.get("/")));
            assertEquals("one 4", pl.get(3).bodyText());

            n.writeConfig(conf(n, 3, "two"));
            n.reload();
            List<Long> after = n.workerPids();
            assertEquals(3, after.size(), after::toString);
            assertTrue(Collections.disjoint(before, after), before + " vs " + after);
            assertEquals("two 1", RawHttp.send(n.port(), RawHttp.Request.get("/")).bodyText());

            assertEquals(1 + 3 + 4 + 1, n.accessLog(1 + 3 + 4 + 1).size());
            assertTrue(n.errorLog().contains("reconfiguring"), n.errorLog());

            long ms = n.quit();
            assertFalse(n.isRunning());
            assertTrue(ms >= 0 && ms < NginxInstance.DEFAULT_TIMEOUT.toMillis(), "quit took " + ms);
            assertTrue(n.errorLog().contains("exiting"), n.errorLog());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertFalse(Files.exists(prefix), "prefix removed on close");
    }

    @Test
    void rejectedReloadThrowsAndKeepsServing() {
        try (NginxInstance n = NginxInstance.create()) {
            n.writeConfig(conf(n, 1, "ok"));
            n.start();
            n.writeConfig(conf(n, 1, "ok").replace("events {", "bogus_directive 1;\nevents {"));
            NginxException e = assertThrows(NginxException.class, n::reload);
            assertTrue(e.getMessage().contains("bogus_directive"), e.getMessage());
            assertEquals("ok 1", RawHttp.send(n.port(), RawHttp.Request.get("/")).bodyText());
        }
    }

    @Test
    void badConfigFailsStartWithTheReason() {
        try (NginxInstance n = NginxInstance.create()) {
            n.writeConfig("events {}\nhttp { nope; }\n");
            ProcessResult t = n.testConfig();
            assertNotEquals(0, t.exitCode());
            assertTrue(t.output().contains("unknown directive \"nope\""), t.output());
            NginxException e = assertThrows(NginxException.class, n::start);
            assertTrue(e.getMessage().contains("unknown directive \"nope\""), e.getMessage());
        }
    }

    @Test
    void closeKillsNginxEvenWhenNotStoppedByTheTest() {
        long master;
        List<Long> workers;
        try (NginxInstance n = NginxInstance.create()) {
            n.writeConfig(conf(n, 2, "x"));
            n.start();
            master = n.masterPid();
            workers = n.workerPids();
        }
        assertFalse(NginxInstance.isAlive(master), "master " + master);
        assertEquals(2, workers.size());
        for (long w : workers) {
            assertFalse(NginxInstance.isAlive(w), "worker " + w);
        }
    }
}
