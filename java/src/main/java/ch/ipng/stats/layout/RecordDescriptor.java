package ch.ipng.stats.layout;

/**
 * Layout of one request record, written by the nginx log phase (C) into the
 * worker's ring ({@link RingDescriptor}) and read by Java. All fields are native byte order;
 * every 64-bit field is 8-byte aligned.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                     BYTES_IN (u64)                            |  0
 *  +---------------------------------------------------------------+
 *  |                     BYTES_OUT (u64)                           |  8
 *  +---------------------------------------------------------------+
 *  |                     REQUEST_TIME (u64, ms)                    | 16
 *  +---------------------------------------------------------------+
 *  |                     UPSTREAM_TIME (u64, ms, if FLAG_UPSTREAM) | 24
 *  +---------------------------------------------------------------+
 *  |                     ADDR (16 bytes, network order;            | 32
 *  |                     IPv4: 4 bytes then 12 zero bytes)         |
 *  +---------------------------------------------------------------+
 *  |                     SOURCE_ID (u32)                           | 48
 *  +-------------------------------+---------------+---------------+
 *  |        STATUS (u16)           | FAMILY (u8)   | FLAGS (u8)    | 52
 *  +-------------------------------+---------------+---------------+
 *  |                     RESERVED (u64, zero)                      | 56
 *  +---------------------------------------------------------------+
 *                                                                    64 = RECORD_LENGTH
 * </pre>
 *
 * FAMILY is 4 (IPv4), 6 (IPv6) or 0 (anything else, e.g. a unix socket);
 * FLAGS bit 0 ({@link #FLAG_UPSTREAM}) says the request was proxied and
 * UPSTREAM_TIME is valid. C computes {@link #LAYOUT_SIGNATURE} from its
 * struct offsets and passes it to {@code NativeBridge.start}.
 */
public final class RecordDescriptor {

    public static final int BYTES_IN_OFFSET = 0;
    public static final int BYTES_IN_LENGTH = Long.BYTES;
    public static final int BYTES_OUT_OFFSET = BYTES_IN_OFFSET + BYTES_IN_LENGTH;
    public static final int BYTES_OUT_LENGTH = Long.BYTES;
    public static final int REQUEST_TIME_OFFSET = BYTES_OUT_OFFSET + BYTES_OUT_LENGTH;
    public static final int REQUEST_TIME_LENGTH = Long.BYTES;
    public static final int UPSTREAM_TIME_OFFSET = REQUEST_TIME_OFFSET + REQUEST_TIME_LENGTH;
    public static final int UPSTREAM_TIME_LENGTH = Long.BYTES;
    public static final int ADDR_OFFSET = UPSTREAM_TIME_OFFSET + UPSTREAM_TIME_LENGTH;
    public static final int ADDR_LENGTH = 16;
    public static final int SOURCE_ID_OFFSET = ADDR_OFFSET + ADDR_LENGTH;
    public static final int SOURCE_ID_LENGTH = Integer.BYTES;
    public static final int STATUS_OFFSET = SOURCE_ID_OFFSET + SOURCE_ID_LENGTH;
    public static final int STATUS_LENGTH = Short.BYTES;
    public static final int FAMILY_OFFSET = STATUS_OFFSET + STATUS_LENGTH;
    public static final int FAMILY_LENGTH = Byte.BYTES;
    public static final int FLAGS_OFFSET = FAMILY_OFFSET + FAMILY_LENGTH;
    public static final int FLAGS_LENGTH = Byte.BYTES;
    public static final int RESERVED_OFFSET = FLAGS_OFFSET + FLAGS_LENGTH;
    public static final int RESERVED_LENGTH = Long.BYTES;
    public static final int RECORD_LENGTH = RESERVED_OFFSET + RESERVED_LENGTH;

    /** FLAGS bit: the request was proxied, UPSTREAM_TIME is valid. */
    public static final int FLAG_UPSTREAM = 1;
    /** The first request of a connection whose ingress interface matched no device (pktinfo). */
    public static final int FLAG_IFINDEX_MISS = 2;

    public static final int FAMILY_OTHER = 0;
    public static final int FAMILY_INET = 4;
    public static final int FAMILY_INET6 = 6;

    /** The offsets packed into one long; C computes the same from its struct. */
    public static final long LAYOUT_SIGNATURE = (long) RECORD_LENGTH
        | (long) BYTES_OUT_OFFSET << 8
        | (long) REQUEST_TIME_OFFSET << 16
        | (long) UPSTREAM_TIME_OFFSET << 24
        | (long) ADDR_OFFSET << 32
        | (long) SOURCE_ID_OFFSET << 40
        | (long) STATUS_OFFSET << 48
        | (long) FAMILY_OFFSET << 56;

    private RecordDescriptor() {
    }
}
