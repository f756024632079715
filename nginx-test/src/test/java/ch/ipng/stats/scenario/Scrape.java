package ch.ipng.stats.scenario;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed Prometheus text exposition: every sample line as name, labels and
 * value. Written for the tests, independent of the module's own code.
 */
final class Scrape {

    record Sample(String name, Map<String, String> labels, double value) {
        String label(String key) {
            return labels.get(key);
        }
    }

    private static final Pattern LINE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (\\S+)(?: \\S+)?$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

    final List<Sample> samples = new ArrayList<>();
    final String text;

    Scrape(String text) {
        this.text = text;
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                throw new AssertionError("not a sample line: " + line);
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
        }
    }

    /** Sum of the samples of {@code name} whose labels include all of {@code match}. */
    double sum(String name, Map<String, String> match) {
        double s = 0;
        for (Sample x : samples) {
            if (x.name.equals(name) && x.labels.entrySet().containsAll(match.entrySet())) {
                s += x.value;
            }
        }
        return s;
    }

    List<Sample> named(String name) {
        return samples.stream().filter(s -> s.name.equals(name)).toList();
    }
}
