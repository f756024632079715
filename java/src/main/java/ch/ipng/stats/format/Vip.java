package ch.ipng.stats.format;

import ch.ipng.stats.layout.RecordDescriptor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A VIP as the zone stores it (family plus the address words ADDR_HI/ADDR_LO,
 * i.e. bytes 0..7 and 8..15 in network order read as native-order longs), its
 * canonical text, and a strict literal parser for the {@code vip=} filter.
 *
 * <p>Canonical text: IPv4 dotted decimal; IPv6 per RFC 5952 (lowercase hex,
 * no leading zeros, the longest run of two or more zero groups compressed to
 * "::", the leftmost run on a tie); "unix" for family 0.
 *
 * <p>The parser never resolves names (no {@code InetAddress.getByName}): it
 * accepts only "unix", dotted-quad IPv4 (four decimal parts 0..255, no
 * leading zeros) and IPv6 literals (optionally in brackets, with "::" at most
 * once and an optional trailing dotted quad). IPv4-mapped IPv6
 * ({@code ::ffff:a.b.c.d}) parses as the IPv4 address, as C converts such
 * addresses to IPv4 before counting.
 */
public final class Vip {

    public final int family;
    public final long hi;
    public final long lo;

    public Vip(int family, long hi, long lo) {
        this.family = family;
        this.hi = hi;
        this.lo = lo;
    }

    public boolean sameAs(int otherFamily, long otherHi, long otherLo) {
        return family == otherFamily && hi == otherHi && lo == otherLo;
    }

    /** Address bytes in network order (16; IPv4 uses the first 4). */
    public static byte[] bytes(long hi, long lo) {
        return ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(hi).putLong(lo).array();
    }

    static Vip of(int family, byte[] addr) {
        ByteBuffer b = ByteBuffer.wrap(addr).order(ByteOrder.nativeOrder());
        return new Vip(family, b.getLong(0), b.getLong(8));
    }

    /** Canonical text of a zone address. */
    public static String text(int family, long hi, long lo) {
        byte[] a = bytes(hi, lo);
        if (family == RecordDescriptor.FAMILY_INET) {
            return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
        }
        if (family != RecordDescriptor.FAMILY_INET6) {
            return "unix";
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = (a[2 * i] & 0xff) << 8 | (a[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLength - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    /** Parses a literal; null if it is not one (never throws, never resolves). */
    public static Vip parse(String s) {
        if (s == null || s.isEmpty() || s.length() > 64) {
            return null;
        }
        if (s.equals("unix")) {
            return new Vip(RecordDescriptor.FAMILY_OTHER, 0, 0);
        }
        byte[] v4 = parseIpv4(s);
        if (v4 != null) {
            return ipv4(v4);
        }
        if (s.charAt(0) == '[' && s.charAt(s.length() - 1) == ']' && s.length() > 2) {
            s = s.substring(1, s.length() - 1);
        }
        byte[] v6 = parseIpv6(s);
        if (v6 == null) {
            return null;
        }
        boolean mapped = v6[10] == (byte) 0xff && v6[11] == (byte) 0xff;
        for (int i = 0; i < 10 && mapped; i++) {
            mapped = v6[i] == 0;
        }
        if (mapped) {
            return ipv4(new byte[] {v6[12], v6[13], v6[14], v6[15]});
        }
        return of(RecordDescriptor.FAMILY_INET6, v6);
    }

    private static Vip ipv4(byte[] v4) {
        byte[] a = new byte[16];
        System.arraycopy(v4, 0, a, 0, 4);
        return of(RecordDescriptor.FAMILY_INET, a);
    }

    static byte[] parseIpv4(String s) {
        byte[] out = new byte[4];
        int part = 0;
        int i = 0;
        int n = s.length();
        while (true) {
            int start = i;
            int value = 0;
            while (i < n && i - start < 4 && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                value = value * 10 + (s.charAt(i) - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && s.charAt(start) == '0')) {
                return null;
            }
            out[part++] = (byte) value;
            if (part == 4) {
                return i == n ? out : null;
            }
            if (i >= n || s.charAt(i) != '.') {
                return null;
            }
            i++;
        }
    }

    static byte[] parseIpv6(String s) {
        int n = s.length();
        int[] groups = new int[8];
        int count = 0;
        int gap = -1;
        int i = 0;
        if (s.startsWith("::")) {
            gap = 0;
            i = 2;
            if (i == n) {
                return new byte[16];
            }
        } else if (n > 0 && s.charAt(0) == ':') {
            return null;
        }
        while (i < n) {
            if (count == 8) {
                return null;
            }
            int start = i;
            int value = 0;
            while (i < n && i - start < 5 && Character.digit(s.charAt(i), 16) >= 0 && s.charAt(i) < 128) {
                value = value << 4 | Character.digit(s.charAt(i), 16);
                i++;
            }
            if (i < n && s.charAt(i) == '.') {
                // trailing dotted quad: takes two groups
                byte[] v4 = parseIpv4(s.substring(start));
                if (v4 == null || count > 6) {
                    return null;
                }
                groups[count++] = (v4[0] & 0xff) << 8 | (v4[1] & 0xff);
                groups[count++] = (v4[2] & 0xff) << 8 | (v4[3] & 0xff);
                i = n;
                break;
            }
            int digits = i - start;
            if (digits == 0 || digits > 4) {
                return null;
            }
            groups[count++] = value;
            if (i == n) {
                break;
            }
            if (s.charAt(i) != ':') {
                return null;
            }
            i++;
            if (i < n && s.charAt(i) == ':') {
                if (gap >= 0) {
                    return null;
                }
                gap = count;
                i++;
                if (i == n) {
                    break;
                }
            } else if (i == n) {
                return null;
            }
        }
        if (gap < 0 ? count != 8 : count > 7) {
            return null;
        }
        int[] full = new int[8];
        if (gap < 0) {
            full = groups;
        } else {
            int tail = count - gap;
            System.arraycopy(groups, 0, full, 0, gap);
            System.arraycopy(groups, gap, full, 8 - tail, tail);
        }
        byte[] out = new byte[16];
        for (int g = 0; g < 8; g++) {
            out[2 * g] = (byte) (full[g] >>> 8);
            out[2 * g + 1] = (byte) full[g];
        }
        return out;
    }
}
