package ch.ipng.stats.nginxtest;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The things under test must exist: a missing nginx or an unbuilt module is
 * a FAILURE with a clear message, never a silently skipped suite.
 */
class EnvironmentTest {

    @Test
    void nginxBinaryIsExecutable() {
        Path bin = TestEnv.nginxBin();
        assertTrue(Files.isRegularFile(bin) && Files.isExecutable(bin),
                "nginx binary " + bin + " is missing or not executable;"
                        + " install nginx (apt-get install nginx) or pass -Dnginx.bin=/path/to/nginx");
    }

    @Test
    void moduleIsBuilt() {
        Path so = TestEnv.module();
        assertTrue(Files.isRegularFile(so), "the nginx module " + so + " is missing;"
                + " build it first ('mvn compile' in the repository root runs native/build.sh)"
                + " or pass -Dipng.module=/path/to/ngx_http_ipng_stats_module.so");
    }

    @Test
    void curlIsInstalled() {
        assertTrue(Files.isExecutable(Curl.CURL), Curl.CURL + " is missing (apt-get install curl);"
                + " the HTTP/2 tests need it");
    }
}
