package ch.ipng.stats.nginxtest.tfile;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.nginxtest.TestEnv;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/**
 * The runner must FAIL blocks whose expectations do not hold: a harness
 * that passes everything proves nothing. Stock nginx, no module.
 */
class BlockRunnerTest {

    private static final String HELLO = "--- no_module\n--- config\n"
            + "location /t { return 200 \"hello\\n\"; }\n";

    private static BlockRunner.Settings settings(boolean ci) {
        return new BlockRunner.Settings(TestEnv.nginxBin(), Path.of("/nonexistent/module.so"),
                Path.of("/nonexistent/ipng-stats.jar"), ci);
    }

    private static void run(String sections, boolean ci) {
        TFile f = TFileParser.parse("self.t", "=== TEST 1: self\n" + sections);
        BlockRunner.run(f.blocks().get(0), settings(ci));
    }

    private static void passes(String sections) {
        run(sections, false);
    }

    private static String fails(String sections) {
        return fails(sections, false);
    }

    private static String fails(String sections, boolean ci) {
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> run(sections, ci));
        return e.getMessage();
    }

    private static void contains(String message, String part) {
        assertTrue(message.contains(part), () -> "want '" + part + "' in:\n" + message);
    }

    @Test
    void passingBlockPasses() {
        passes(HELLO + "--- request\nGET /t\n--- response_body\nhello\n");
    }

    @Test
    void wrongBodyFails() {
        String m = fails(HELLO + "--- request\nGET /t\n--- response_body\nbye\n");
        contains(m, "self.t:1 (TEST 1: self): --- response_body differs");
        contains(m, "--- last response ---");
        contains(m, "listen 127.0.0.1:");
    }

    @Test
    void statusIs200UnlessSaidOtherwise() {
        contains(fails(HELLO + "--- request\nGET /nope\n"), "status 404, want 200");
        passes(HELLO + "--- request\nGET /nope\n--- error_code: 404\n");
    }

    @Test
    void perRequestCodesOfPipelinedRequests() {
        contains(fails(HELLO + "--- pipelined_requests\nGET /t\nGET /t\n--- error_code\n200 404\n"),
                "response 2 of 2 has status 200, want 404");
        contains(fails(HELLO + "--- pipelined_requests\nGET /t\nGET /t\nGET /t\n--- error_code: 200 200\n"),
                "lists 2 codes for 3 responses");
    }

    @Test
    void bodyRegexesFail() {
        contains(fails(HELLO + "--- request\nGET /t\n--- response_body_like: ^bye"), "does not match");
        contains(fails(HELLO + "--- request\nGET /t\n--- response_body_unlike: ^hel"), "matches the body");
        contains(fails(HELLO + "--- request\nGET /t\n--- response_body_like: (unclosed"), "bad regex");
    }

    @Test
    void headerChecksFail() {
        contains(fails(HELLO + "--- request\nGET /t\n--- response_headers\n!Server\n"),
                "header Server should be absent");
        contains(fails(HELLO + "--- request\nGET /t\n--- response_headers\nX-Missing: 1\n"),
                "X-Missing is absent, want '1'");
        contains(fails(HELLO + "--- request\nGET /t\n--- response_headers_like\nServer: ^apache\n"),
                "want /^apache/");
    }

    @Test
    void unknownSectionFailsTheBlock() {
        contains(fails(HELLO + "--- request\nGET /t\n--- reponse_body\nhello\n"),
                "unknown section '--- reponse_body' (did you mean '--- response_body'?)");
    }

    @Test
    void skipNeedsAReasonAndFailsInCi() {
        contains(fails(HELLO + "--- skip\n"), "'--- skip' needs a reason");
        assertThrows(TestAbortedException.class, () -> run(HELLO + "--- skip: not yet\n", false));
        contains(fails(HELLO + "--- skip: not yet\n", true), "but CI=true");
    }

    @Test
    void onlyFailsInCi() {
        passes(HELLO + "--- ONLY\n--- request\nGET /t\n");
        contains(fails(HELLO + "--- ONLY\n--- request\nGET /t\n", true), "'--- ONLY' left in the file");
    }

    @Test
    void errorLogChecks() {
        contains(fails(HELLO + "--- request\nGET /t\n--- error_log\nnever logged\n"),
                "--- error_log: 'never logged' not found in error.log");
        contains(fails(HELLO + "--- request\nGET /t\n--- no_error_log\nstart worker process\n"),
                "--- no_error_log: 'start worker process' found");
        contains(fails(HELLO + "--- request\nGET /t\n--- no_error_log\nqr/worker process \\d+/\n"),
                "found");
    }

    @Test
    void noErrorLogIsCheckedAgainAfterTheStop() {
        // "gracefully shutting down" only appears once nginx is asked to quit
        contains(fails(HELLO + "--- request\nGET /t\n--- no_error_log\ngracefully shutting down\n"),
                "found in error.log after nginx -s quit");
    }

    @Test
    void mustDieFailsWhenTheConfigIsFine() {
        contains(fails(HELLO + "--- must_die\n"), "nginx -t accepted the config");
        contains(fails("--- no_module\n--- config\nbogus;\n--- must_die\n--- error_log\nsomething else\n"),
                "not found in nginx -t output");
        passes("--- no_module\n--- config\nbogus;\n--- must_die\n--- error_log\nunknown directive \"bogus\"\n");
    }

    @Test
    void aCrashedWorkerFailsTheBlock() {
        String crash = HELLO + "--- shell\nkill -SEGV $(pgrep -P $(cat logs/nginx.pid) | head -1)\nsleep 0.3\n"
                + "--- request\nGET /t\n";
        contains(fails(crash), "error.log contains 'exited on signal'");
        passes(crash + "--- error_log\nexited on signal 11\n");
    }

    @Test
    void anEmergFailsTheBlock() {
        String badReload = HELLO + "--- shell\necho 'bogus;' >> conf/nginx.conf\n"
                + "kill -HUP $(cat logs/nginx.pid)\n"
                + "sleep 0.3\n--- request\nGET /t\n";
        contains(fails(badReload), "error.log contains '[emerg]'");
        // expected via --- error_log: passes, and nginx still stops although its config is broken
        passes(badReload + "--- error_log\n[emerg]\n");
    }

    @Test
    void failingShellFailsTheBlock() {
        contains(fails(HELLO + "--- shell\necho out; false\n"), "--- shell failed (exit 1:\nout");
    }

    @Test
    void missingModuleIsAClearFailure() {
        contains(fails("--- config\nlocation /t { return 200; }\n--- request\nGET /t\n"),
                "the module is not built: /nonexistent/module.so is missing");
    }

    @Test
    void badValuesFail() {
        contains(fails(HELLO + "--- workers: many\n"), "--- workers: wants a positive number");
        contains(fails(HELLO + "--- wait: soon\n"), "--- wait: wants seconds");
        contains(fails(HELLO + "--- error_code: ok\n"), "'ok' is not a status code");
        contains(fails(HELLO + "--- request\nGET\n"), "wants 'METHOD URI [PROTOCOL]'");
        contains(fails(HELLO + "--- pre_requests\nGET /t x3 twice\n"), "unknown word 'twice'");
    }
}
