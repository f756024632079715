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

    /** This jar's version (see {@link #jarVersion}), the given nginx version, this JVM. */
    public static BuildInfo of(String nginxVersion) {
        return new BuildInfo(jarVersion(), nginxVersion, System.getProperty("java.version"));
    }

    /**
     * The manifest's Implementation-Version, which the class loader read
     * with the jar; else (classes outside a jar: tests) version.properties.
     * (Reading the resource goes through the JDK's URL machinery: 7 ms of
     * the JVM's start.)
     */
    public static String jarVersion() {
        String v = BuildInfo.class.getPackage().getImplementationVersion();
        if (v != null) {
            return v;
        }
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
