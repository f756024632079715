package ch.ipng.stats.nginxtest;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the things under test are, from the system properties the Maven
 * build passes (see nginx-test/pom.xml), with defaults that work from an
 * IDE started in the repository or in {@code nginx-test/}.
 *
 * <pre>
 * nginx.bin      the nginx binary                 (/usr/sbin/nginx)
 * ipng.module    the built module .so             (target/dist/ngx_http_ipng_stats_module.so)
 * ipng.jar       the shaded stats jar             (target/dist/ipng-stats.jar)
 * ipng.t.dir     the directory holding *.t files  (t/)
 * ipng.t.filter  run only .t files whose name contains this
 * ipng.keep      "true": keep every nginx prefix directory after the test
 * CI (env)       "true": a skipped or ONLY block is a failure
 * </pre>
 */
public final class TestEnv {

    private TestEnv() {
    }

    public static Path nginxBin() {
        return Path.of(prop("nginx.bin", "/usr/sbin/nginx"));
    }

    public static Path tDir() {
        String t = prop("ipng.t.dir", null);
        if (t != null) {
            return Path.of(t).toAbsolutePath().normalize();
        }
        Path cwd = Path.of("").toAbsolutePath();
        for (Path p = cwd; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("t")) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return p.resolve("t");
            }
        }
        return cwd.resolve("t");
    }

    public static Path distDir() {
        return tDir().getParent().resolve("target").resolve("dist");
    }

    public static Path module() {
        String m = prop("ipng.module", null);
        return m != null ? Path.of(m) : distDir().resolve("ngx_http_ipng_stats_module.so");
    }

    public static Path jar() {
        String j = prop("ipng.jar", null);
        return j != null ? Path.of(j) : distDir().resolve("ipng-stats.jar");
    }

    public static String tFilter() {
        return prop("ipng.t.filter", "");
    }

    public static boolean keepPrefixes() {
        return Boolean.parseBoolean(prop("ipng.keep", "false"));
    }

    public static boolean ci() {
        String ci = System.getenv("CI");
        return ci != null && ci.equalsIgnoreCase("true");
    }

    /** A property, or {@code def} when unset, empty or an unresolved Maven expression. */
    static String prop(String name, String def) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank() || v.contains("${")) {
            return def;
        }
        return v.trim();
    }
}
