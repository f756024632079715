package ch.ipng.stats.bridge;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.ipng.stats.layout.RecordDescriptor;
import ch.ipng.stats.layout.ZoneDescriptor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class CheckTest {

    @Test
    void acceptsTheLayoutsOfThisJar() {
        assertEquals(0, Check.run(new String[] {Long.toString(RecordDescriptor.LAYOUT_SIGNATURE),
            Integer.toString(ZoneDescriptor.LAYOUT_VERSION)}));
    }

    @Test
    void rejectsOtherLayoutsAndBadArguments() {
        assertEquals(3, Check.run(new String[] {"12345", Integer.toString(ZoneDescriptor.LAYOUT_VERSION)}));
        assertEquals(3, Check.run(new String[] {Long.toString(RecordDescriptor.LAYOUT_SIGNATURE), "99"}));
        assertEquals(2, Check.run(new String[] {"x", "1"}));
        assertEquals(2, Check.run(new String[] {}));
    }

    @Test
    void classListNamesClassesThatExistIncludingTheStartPath() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, Check.classList(new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        List<String> names = Arrays.stream(bytes.toString(StandardCharsets.UTF_8).split("\n"))
                .filter(l -> !l.isBlank() && !l.startsWith("#"))
                .collect(Collectors.toList());
        assertTrue(names.contains("ch/ipng/stats/bridge/NativeBridge"), names.toString());
        assertTrue(names.contains("ch/ipng/stats/aggregate/Aggregator"), names.toString());
        assertTrue(names.contains("ch/ipng/stats/drain/Consumer"), names.toString());
        assertTrue(names.contains("ch/ipng/stats/zone/Journal"), names.toString());
        assertTrue(names.stream().noneMatch(n -> n.startsWith("ch/ipng/stats/testing/")), "no test class");
        for (String n : names) {
            assertDoesNotThrow(() -> Class.forName(n.replace('/', '.'), false, CheckTest.class.getClassLoader()), n);
        }
    }
}
