package ch.ipng.stats.drain;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongPredicate;

/**
 * Whether a process is alive, from Linux's /proc: dead when /proc/&lt;pid&gt;
 * is gone, or when its state and that of every one of its threads
 * (/proc/&lt;pid&gt;/task/*&#47;stat) is Z (zombie) or X (dead). Why the
 * threads: a process that calls exit() is a zombie as soon as its main
 * thread is, while its other threads may still run until they take the
 * kill, and a JVM thread of a stats process could still store into the zones.
 * A process that cannot be read (another user's, under hidepid) counts as
 * gone, as it must for a pid whose /proc entry vanished between two reads.
 */
public final class Liveness implements LongPredicate {

    /** The machine's /proc. */
    public static final Liveness PROC = new Liveness(Path.of("/proc"));

    private final Path proc;

    /** Over another tree laid out as /proc (tests). */
    Liveness(Path proc) {
        this.proc = proc;
    }

    @Override
    public boolean test(long pid) {
        if (pid <= 0 || pid > Integer.MAX_VALUE) {
            return false;
        }
        Path dir = proc.resolve(Long.toString(pid));
        if (running(dir.resolve("stat"))) {
            return true;
        }
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(dir.resolve("task"))) {
            for (Path task : tasks) {
                if (running(task.resolve("stat"))) {
                    return true;
                }
            }
        } catch (IOException | RuntimeException e) {
            return false;           // gone while we looked
        }
        return false;
    }

    /** Whether a stat file exists and its state is neither Z nor X. */
    private static boolean running(Path stat) {
        byte[] b;
        try {
            b = Files.readAllBytes(stat);
        } catch (IOException e) {
            return false;
        }
        char state = state(b);
        return state != 'Z' && state != 'X' && state != 0;
    }

    /**
     * The state field of a stat line: the character after the ") " that
     * ends the command name, which may itself hold spaces and parentheses.
     * 0 when there is none.
     */
    static char state(byte[] stat) {
        for (int i = stat.length - 1; i >= 0; i--) {
            if (stat[i] == ')') {
                return i + 2 < stat.length && stat[i + 1] == ' ' ? (char) stat[i + 2] : 0;
            }
        }
        return 0;
    }
}
