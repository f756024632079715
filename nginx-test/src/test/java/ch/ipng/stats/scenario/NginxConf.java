package ch.ipng.stats.scenario;

import ch.ipng.stats.nginxtest.TestEnv;

/** The main-context part every scenario's nginx.conf starts with. */
final class NginxConf {

    private NginxConf() {
    }

    /** load_module of the module under test, 2 workers, error log at {@code level}, events. */
    static String head(String level) {
        return head(level, true);
    }

    /** The same, without load_module when {@code module} is false (stock nginx). */
    static String head(String level, boolean module) {
        return (module ? "load_module " + TestEnv.module() + ";\n" : "")
            + "worker_processes 2;\n"
            + "error_log logs/error.log " + level + ";\n"
            + "pid logs/nginx.pid;\n"
            + "events { worker_connections 1024; }\n";
    }
}
