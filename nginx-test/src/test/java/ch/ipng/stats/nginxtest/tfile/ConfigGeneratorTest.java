package ch.ipng.stats.nginxtest.tfile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigGeneratorTest {

    private static final ConfigGenerator.Context CTX = new ConfigGenerator.Context(
            Path.of("/d/mod.so"), Path.of("/d/ipng-stats.jar"), Path.of("/tmp/p"), 4711, 4712,
            Path.of("/usr/sbin/nginx"));

    private static TBlock block(String sections) {
        return TFileParser.parse("g.t", "=== TEST 1: g\n" + sections).blocks().get(0);
    }

    private static String conf(String sections) {
        return ConfigGenerator.generate(block(sections).mapValues(CTX::substitute), CTX);
    }

    @Test
    void loadsTheModuleFirstThenMainConfig() {
        String c = conf("--- main_config\nenv FOO;\n");
        assertTrue(c.indexOf("load_module /d/mod.so;") < c.indexOf("env FOO;"), c);
        assertTrue(c.indexOf("env FOO;") < c.indexOf("worker_processes 2;"), c);
        assertTrue(c.contains("error_log logs/error.log info;\npid logs/nginx.pid;\n"), c);
        assertTrue(c.contains("events {\n    worker_connections 1024;\n}"), c);
    }

    @Test
    void noModuleOmitsLoadModule() {
        assertFalse(conf("--- no_module\n").contains("load_module"));
    }

    @Test
    void workersOverride() {
        assertTrue(conf("--- workers: 4\n").contains("worker_processes 4;"));
        assertThrows(IllegalArgumentException.class, () -> ConfigGenerator.workers(block("--- workers: x\n")));
    }

    @Test
    void serverListensOnThePortWithTheConfig() {
        String c = conf("--- config\nlocation /t { return 200; }\n");
        assertTrue(c.contains("listen 127.0.0.1:4711;\n        server_name localhost;"), c);
        assertTrue(c.contains("        location /t { return 200; }"), c);
        assertTrue(c.contains("client_body_temp_path client_body_temp;"), c);
        assertTrue(conf("--- http2\n").contains("listen 127.0.0.1:4711 http2;"));
    }

    @Test
    void addsClasspathFirstInHttpWhenIpngDirectivesAreUsed() {
        String c = conf("--- http_config\nipng_stats_zone z:1m;\n--- config\naccess_log off;\n");
        int http = c.indexOf("http {\n");
        assertEquals(http + "http {\n".length(), c.indexOf("    ipng_stats_classpath /d/ipng-stats.jar;"), c);
        assertTrue(conf("--- config\nlocation /s { ipng_stats; }\n").contains("ipng_stats_classpath"));
    }

    @Test
    void noClasspathWhenGivenOrNotUsed() {
        String given = conf("--- http_config\nipng_stats_classpath /x.jar;\nipng_stats_zone z:1m;\n");
        assertEquals(1, given.split("ipng_stats_classpath", -1).length - 1, given);
        assertFalse(conf("--- config\nlocation /t { return 200 $ipng_source_tag; }\n")
                .contains("ipng_stats_classpath"));
        assertFalse(conf("--- config\nlocation /ipng_stats_x { return 200; }\n")
                .contains("ipng_stats_classpath"));
    }

    @Test
    void substitutesVariablesEverywhere() {
        TBlock b = block("--- config\nroot $TEST_NGINX_HTML_DIR; # ${TEST_NGINX_SERVER_PORT}\n"
                + "--- request\nGET /$TEST_NGINX_SERVER_PORT2/$TEST_NGINX_SERVER_PORT\n"
                + "--- http_config\n# $TEST_NGINX_IPNG_JAR\n").mapValues(CTX::substitute);
        assertEquals("root /tmp/p/html; # 4711\n", b.value("config"));
        assertEquals("GET /4712/4711\n", b.value("request"));
        assertEquals("# /d/ipng-stats.jar\n", b.value("http_config"));
    }
}
