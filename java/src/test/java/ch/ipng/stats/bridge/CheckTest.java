package ch.ipng.stats.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.ipng.stats.format.Pacer;
import ch.ipng.stats.layout.RecordDescriptor;
import ch.ipng.stats.layout.ZoneDescriptor;
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
    void rejectsABadRenderPacingOption() {
        String[] ok = {Long.toString(RecordDescriptor.LAYOUT_SIGNATURE), Integer.toString(ZoneDescriptor.LAYOUT_VERSION)};
        System.setProperty(Pacer.PAUSE_PROPERTY, "50us");
        try {
            assertEquals(2, Check.run(ok));
        } finally {
            System.clearProperty(Pacer.PAUSE_PROPERTY);
        }
        assertEquals(0, Check.run(ok));
    }
}
