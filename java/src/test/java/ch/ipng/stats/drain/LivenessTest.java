package ch.ipng.stats.drain;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LivenessTest {

    @Test
    void thisProcessIsAlive() {
        assertTrue(Liveness.PROC.test(ProcessHandle.current().pid()));
    }

    @Test
    void aProcessThatExitedAndWasReapedIsGone() throws Exception {
        Process p = new ProcessBuilder("true").start();
        long pid = p.pid();
        assertEquals(0, p.waitFor());
        assertFalse(Liveness.PROC.test(pid));
    }

    @Test
    void pidsNoProcessCanHaveAreGone() {
        assertFalse(Liveness.PROC.test(0));
        assertFalse(Liveness.PROC.test(-1));
        assertFalse(Liveness.PROC.test(1L << 40));
    }

    private static void stat(Path proc, String path, String line) throws IOException {
        Path f = proc.resolve(path);
        Files.createDirectories(f.getParent());
        Files.write(f, line.getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * A process whose main thread is a zombie is alive while another of its
     * threads still runs: a JVM thread may store into the zones until it
     * takes its kill.
     */
    @Test
    void aZombieIsGoneOnlyOnceEveryThreadIs(@TempDir Path proc) throws IOException {
        stat(proc, "10/stat", "10 (nginx: worker process) S 1 10 10 0 -1");
        stat(proc, "20/stat", "20 (java) Z 1 20 20 0 -1");
        stat(proc, "20/task/20/stat", "20 (java) Z 1 20 20 0 -1");
        stat(proc, "20/task/21/stat", "21 (ipng-drain) R 1 20 20 0 -1");
        stat(proc, "30/stat", "30 (java) Z 1 30 30 0 -1");
        stat(proc, "30/task/30/stat", "30 (java) Z 1 30 30 0 -1");
        stat(proc, "30/task/31/stat", "31 (ipng-drain) X 1 30 30 0 -1");
        stat(proc, "40/stat", "40 (a) Z (b)) S 1 40 40 0 -1");
        Liveness l = new Liveness(proc);
        assertTrue(l.test(10));
        assertTrue(l.test(20), "its drain thread still runs");
        assertFalse(l.test(30));
        assertTrue(l.test(40), "the state follows the last parenthesis");
        assertFalse(l.test(50), "no such process");
    }

    @Test
    void readsTheStateAfterTheCommandName() {
        assertEquals('S', Liveness.state("1 (init) S 0".getBytes(StandardCharsets.US_ASCII)));
        assertEquals('Z', Liveness.state("7 (a) b) Z 1".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(0, Liveness.state("7 (a".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(0, Liveness.state("7 (a)".getBytes(StandardCharsets.US_ASCII)));
    }
}
