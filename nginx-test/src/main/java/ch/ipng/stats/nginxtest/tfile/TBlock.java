package ch.ipng.stats.nginxtest.tfile;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * One {@code === TEST n: title} block of a .t file.
 *
 * @param file     the .t file name (for messages)
 * @param header   the text after {@code ===}, e.g. "TEST 3: reload keeps counters"
 * @param line     1-based line of the header
 * @param sections the sections in file order, by name
 * @param errors   problems found while parsing (unknown or repeated section,
 *                 unknown filter); a block with errors must fail, not run
 */
public record TBlock(String file, String header, int line, Map<String, Section> sections,
        List<String> errors) {

    public TBlock {
        sections = Collections.unmodifiableMap(new LinkedHashMap<>(sections));
        errors = List.copyOf(errors);
    }

    public boolean has(String name) {
        return sections.containsKey(name);
    }

    public Optional<Section> section(String name) {
        return Optional.ofNullable(sections.get(name));
    }

    /** A section's value, or null when absent. */
    public String value(String name) {
        Section s = sections.get(name);
        return s == null ? null : s.value();
    }

    /** "harness.t TEST 3: title" */
    public String displayName() {
        return header;
    }

    /** The same block with every section value passed through {@code f}. */
    public TBlock mapValues(UnaryOperator<String> f) {
        Map<String, Section> m = new LinkedHashMap<>();
        sections.forEach((k, s) -> m.put(k, s.withValue(f.apply(s.value()))));
        return new TBlock(file, header, line, m, errors);
    }

    /** All section values joined (to look for directives anywhere in the block). */
    public String allText() {
        StringBuilder sb = new StringBuilder();
        sections.values().forEach(s -> sb.append(s.value()).append('\n'));
        return sb.toString();
    }
}
