package ch.ipng.stats.nginxtest.tfile;

import java.util.List;

/**
 * One {@code --- name} section of a block.
 *
 * @param name    the section name as written
 * @param filters the words after the name ({@code --- response_body chomp})
 * @param value   the content: for {@code --- name: value} the inline value
 *                (no newline); otherwise the following lines, trimmed the
 *                way Test::Base does (leading and trailing blank lines
 *                dropped, a non-empty value ends in exactly one newline),
 *                then the filters applied
 * @param inline  whether the value was given inline after a colon
 * @param line    1-based line of the section header in the file
 */
public record Section(String name, List<String> filters, String value, boolean inline, int line) {

    public Section {
        filters = List.copyOf(filters);
    }

    /** The value's lines, without empty ones and without surrounding whitespace. */
    public List<String> lines() {
        return value.lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** The value with surrounding whitespace (and the final newline) removed. */
    public String text() {
        return value.strip();
    }

    public Section withValue(String v) {
        return new Section(name, filters, v, inline, line);
    }
}
