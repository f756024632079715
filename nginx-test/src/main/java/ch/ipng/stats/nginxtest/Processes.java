package ch.ipng.stats.nginxtest;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs external commands to completion with a time limit. */
public final class Processes {

    private Processes() {
    }

    public static ProcessResult run(List<String> cmd, Path dir, Duration timeout) {
        return run(cmd, dir, timeout, Map.of());
    }

    /**
     * Runs {@code cmd} in {@code dir} with {@code env} added to this JVM's
     * environment. Output (stdout and stderr together) goes through a temp
     * file, never a pipe: a daemonizing child such as nginx would otherwise
     * keep the pipe open. On timeout the command is killed and
     * {@link NginxException} thrown with the output so far.
     */
    public static ProcessResult run(List<String> cmd, Path dir, Duration timeout,
            Map<String, String> env) {
        Path out = null;
        try {
            out = Files.createTempFile("ipng-nginx-cmd-", ".out");
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new NginxException(String.join(" ", cmd) + " did not finish within "
                        + timeout.toMillis() + " ms; output so far:\n" + NginxInstance.read(out));
            }
            return new ProcessResult(p.exitValue(), NginxInstance.read(out));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NginxException("interrupted running " + cmd, e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a stray temp file is harmless
                }
            }
        }
    }
}
