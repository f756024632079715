package ch.ipng.stats.nginxtest;

/** nginx did not do what the harness asked (start, reload, stop ...). */
public final class NginxException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public NginxException(String message) {
        super(message);
    }

    public NginxException(String message, Throwable cause) {
        super(message, cause);
    }
}
