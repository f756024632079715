package ch.ipng.stats.bridge;

import ch.ipng.stats.format.Pacer;
import ch.ipng.stats.layout.RecordDescriptor;
import ch.ipng.stats.layout.ZoneDescriptor;

/**
 * Run by the nginx master at configuration time ({@code nginx -t}, reload)
 * with the workers' JVM options: {@code java <options> -cp ipng-stats.jar
 * ch.ipng.stats.bridge.Check <layout signature> <zone layout version>}.
 * That the JVM starts proves the options; the exit code says whether this
 * jar matches the module and the module's own -D options are valid. Prints
 * one line either way.
 */
public final class Check {

    private Check() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
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
        try {
            Pacer.fromSystemProperties();
        } catch (IllegalArgumentException e) {
            System.out.println(e.getMessage());
            return 2;
        }
        System.out.println("ok");
        return 0;
    }
}
