package ch.ipng.stats.bridge;

import ch.ipng.stats.layout.RecordDescriptor;
import ch.ipng.stats.layout.ZoneDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;

/**
 * Run by the nginx master at configuration time ({@code nginx -t}, reload)
 * with the stats process's JVM options: {@code java <options> -cp
 * ipng-stats.jar ch.ipng.stats.bridge.Check <layout signature> <zone layout
 * version>}. That the JVM starts proves the options; the exit code says
 * whether this jar matches the module. Prints one line either way.
 *
 * <p>{@code Check --classlist} prints the classes the stats process loads,
 * the list scripts/cds-archive dumps into its class data archive.
 */
public final class Check {

    private Check() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** The resource holding that list (its header says how it was made). */
    static final String CLASS_LIST = "classlist";

    static int run(String[] args) {
        if (args.length == 1 && args[0].equals("--classlist")) {
            return classList(System.out);
        }
        if (args.length != 2) {
            System.out.println("usage: Check <layout signature> <zone layout version>");
            return 2;
        }
        long signature;
        int version;
        try {
            signature = Long.parseLong(args[0]);
            version = Integer.parseInt(args[1]);
        } catch (NumberFormatException e) {
            System.out.println("not a number: " + e.getMessage());
            return 2;
        }
        if (signature != RecordDescriptor.LAYOUT_SIGNATURE || version != ZoneDescriptor.LAYOUT_VERSION) {
            System.out.printf("the jar's layouts (record 0x%016x, zone %d) differ from the module's"
                    + " (record 0x%016x, zone %d): use the jar built with this module%n",
                    RecordDescriptor.LAYOUT_SIGNATURE, ZoneDescriptor.LAYOUT_VERSION, signature, version);
            return 3;
        }
        System.out.println("ok");
        return 0;
    }

    static int classList(PrintStream out) {
        try (InputStream in = Check.class.getResourceAsStream(CLASS_LIST)) {
            if (in == null) {
                System.out.println("no " + CLASS_LIST + " resource in this jar");
                return 2;
            }
            in.transferTo(out);
            out.flush();
            return 0;
        } catch (IOException e) {
            System.out.println("cannot read the " + CLASS_LIST + " resource: " + e.getMessage());
            return 2;
        }
    }
}
