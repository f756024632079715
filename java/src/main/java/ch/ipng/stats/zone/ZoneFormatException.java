package ch.ipng.stats.zone;

/** The zone header is not one this code understands; the message is one line naming what differs. */
public final class ZoneFormatException extends Exception {

    private static final long serialVersionUID = 1L;

    public ZoneFormatException(String message) {
        super(message);
    }
}
