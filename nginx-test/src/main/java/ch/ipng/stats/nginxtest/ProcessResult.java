package ch.ipng.stats.nginxtest;

/**
 * What a finished external command left behind: its exit code and its
 * standard output and standard error, interleaved as written.
 */
public record ProcessResult(int exitCode, String output) {

    public boolean ok() {
        return exitCode == 0;
    }

    @Override
    public String toString() {
        return "exit " + exitCode + ":\n" + output;
    }
}
