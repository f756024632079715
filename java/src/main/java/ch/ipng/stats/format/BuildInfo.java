package ch.ipng.stats.format;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The label values of {@code nginx_ipng_build_info}. */
public final class BuildInfo {

    public final String version;
    public final String nginxVersion;
    public final String javaVersion;

    public BuildInfo(String version, String nginxVersion, String javaVersion) {
        this.version = version == null ? "" : version;
        this.nginxVersion = nginxVersion == null ? "" : nginxVersion;
        this.javaVersion = javaVersion == null ? "" : javaVersion;
    }

    /** This jar's version (from the filtered version.properties), the given nginx version, this JVM. */
    public static BuildInfo of(String nginxVersion) {
        return new BuildInfo(jarVersion(), nginxVersion, System.getProperty("java.version"));
    }

    public static String jarVersion() {
        try (InputStream in = BuildInfo.class.getResourceAsStream("/ch/ipng/stats/version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
