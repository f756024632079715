package ch.ipng.stats.scenario;

import static org.junit.jupiter.api.Assertions.fail;

import ch.ipng.stats.nginxtest.TestEnv;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/** Tests that need root: in CI a missing privilege is a failure, elsewhere the test is skipped. */
final class Privileges {

    private Privileges() {
    }

    static void requireRoot(String what) {
        if (!"0".equals(Traffic.exec(List.of("id", "-u")).trim())) {
            if (TestEnv.ci()) {
                fail(what + " need root, and CI must run them");
            }
            Assumptions.abort(what + " need root (CI runs them)");
        }
    }
}
