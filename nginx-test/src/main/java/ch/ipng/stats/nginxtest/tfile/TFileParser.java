package ch.ipng.stats.nginxtest.tfile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses Test::Nginx's data-block format (Test::Base):
 *
 * <pre>
 * # anything before __DATA__ (or before the first ===) is ignored
 * __DATA__
 *
 * === TEST 1: title
 * --- config
 *     location /t { return 200 "hello"; }
 * --- request
 * GET /t
 * --- response_body chomp
 * hello
 * --- error_code: 200
 * </pre>
 *
 * A line {@code === ...} starts a block, {@code --- name [filters]} or
 * {@code --- name: inline value} starts a section, {@code __END__} ends the
 * data. Section names are checked against {@link #SECTIONS}: a typo is an
 * error of the block, never silently ignored.
 */
public final class TFileParser {

    /** Every section the runner understands. */
    public static final Set<String> SECTIONS = Set.of(
            "main_config", "http_config", "config", "workers", "no_module", "http2",
            "request", "more_headers", "pipelined_requests", "pre_requests", "shell",
            "error_code", "response_body", "response_body_like", "response_body_unlike",
            "response_headers", "response_headers_like",
            "error_log", "no_error_log", "must_die",
            "wait", "timeout", "skip", "ONLY");

    /** Filters allowed after a section name. */
    public static final Set<String> FILTERS = Set.of("chomp");

    private static final Pattern BLOCK = Pattern.compile("^===\\s*(.*?)\\s*$");
    private static final Pattern SECTION = Pattern.compile("^---\\s+([A-Za-z_]\\w*)(.*)$");

    private TFileParser() {
    }

    public static TFile parse(Path file) {
        try {
            return parse(file.getFileName().toString(),
                    Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static TFile parse(String name, String text) {
        String[] lines = text.split("\n", -1);
        int start = 0;
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].strip().equals("__DATA__")) {
                start = i + 1;
                break;
            }
        }
        List<TBlock> blocks = new ArrayList<>();
        List<String> fileErrors = new ArrayList<>();

        String header = null;
        int headerLine = 0;
        Map<String, Section> sections = new LinkedHashMap<>();
        List<String> errors = new ArrayList<>();
        String secName = null;
        String secRest = null;
        int secLine = 0;
        StringBuilder content = null;

        for (int i = start; i <= lines.length; i++) {
            String line = i < lines.length ? stripCr(lines[i]) : null;
            boolean end = line == null || line.strip().equals("__END__");
            Matcher bm = end ? null : BLOCK.matcher(line);
            Matcher sm = end ? null : SECTION.matcher(line);
            boolean isBlock = !end && bm.matches() && line.startsWith("===");
            boolean isSection = !end && header != null && sm.matches();

            if ((end || isBlock || isSection) && secName != null) {
                addSection(name, sections, errors, secName, secRest, secLine, content.toString());
                secName = null;
            }
            if ((end || isBlock) && header != null) {
                blocks.add(new TBlock(name, header, headerLine, sections, errors));
                header = null;
            }
            if (end) {
                break;
            }
            if (isBlock) {
                header = bm.group(1);
                headerLine = i + 1;
                sections = new LinkedHashMap<>();
                errors = new ArrayList<>();
                if (header.isEmpty()) {
                    errors.add(name + ":" + headerLine + ": block has no title");
                }
            } else if (isSection) {
                secName = sm.group(1);
                secRest = sm.group(2);
                secLine = i + 1;
                content = new StringBuilder();
            } else if (secName != null) {
                content.append(line).append('\n');
            } else if (header == null && !line.isBlank() && !line.startsWith("#") && start > 0) {
                fileErrors.add(name + ":" + (i + 1) + ": text outside a block: " + line);
            }
            // text between a block header and its first section is a description: ignored
        }
        if (blocks.isEmpty()) {
            fileErrors.add(name + ": no '=== TEST n: title' block found");
        }
        return new TFile(name, blocks, fileErrors);
    }

    private static void addSection(String file, Map<String, Section> sections, List<String> errors,
            String secName, String rest, int line, String content) {
        String where = file + ":" + line + ": ";
        if (!SECTIONS.contains(secName)) {
            errors.add(where + "unknown section '--- " + secName + "'" + suggestion(secName)
                    + " (known: " + String.join(", ", new java.util.TreeSet<>(SECTIONS)) + ")");
            return;
        }
        if (sections.containsKey(secName)) {
            errors.add(where + "section '--- " + secName + "' given twice in one block");
            return;
        }
        String trimmedRest = rest.strip();
        Section s;
        if (trimmedRest.startsWith(":")) {
            String inlineValue = trimmedRest.substring(1).strip();
            if (!trim(content).isEmpty()) {
                errors.add(where + "section '--- " + secName + ":' has an inline value and"
                        + " following lines; use one or the other");
            }
            s = new Section(secName, List.of(), inlineValue, true, line);
        } else {
            List<String> filters = trimmedRest.isEmpty() ? List.of() : List.of(trimmedRest.split("\\s+"));
            String value = trim(content);
            for (String f : filters) {
                if (!FILTERS.contains(f)) {
                    errors.add(where + "unknown filter '" + f + "' on '--- " + secName
                            + "' (supported: " + String.join(", ", FILTERS) + ")");
                } else if (f.equals("chomp") && value.endsWith("\n")) {
                    value = value.substring(0, value.length() - 1);
                }
            }
            s = new Section(secName, filters, value, false, line);
        }
        sections.put(secName, s);
    }

    /**
     * Test::Base's default "trim": drop leading blank lines and trailing
     * whitespace, so a non-empty value ends with exactly one newline.
     */
    static String trim(String s) {
        String t = s.replaceFirst("\\A([ \\t]*\\n)+", "");
        t = t.replaceFirst("(?<=\\n)\\s*\\z", "");
        if (t.isBlank()) {
            return "";
        }
        return t.endsWith("\n") ? t : t + "\n";
    }

    private static String stripCr(String s) {
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /** " (did you mean 'x'?)" for the nearest known section, or "". */
    static String suggestion(String name) {
        String best = null;
        int bestDist = Integer.MAX_VALUE;
        for (String k : SECTIONS) {
            int d = distance(name.toLowerCase(), k.toLowerCase());
            if (d < bestDist) {
                bestDist = d;
                best = k;
            }
        }
        return best != null && bestDist <= Math.max(2, name.length() / 3)
                ? " (did you mean '--- " + best + "'?)" : "";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
