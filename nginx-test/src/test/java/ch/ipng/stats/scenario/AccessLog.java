package ch.ipng.stats.scenario;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What nginx itself logged, aggregated the way the module counts: per
 * (vip, status) requests and bytes, per vip the number of proxied requests.
 * Lines are written by the log_format {@link #FORMAT}.
 */
final class AccessLog {

    static final String FORMAT = "log_format counts '$server_addr $status $request_length "
            + "$bytes_sent $upstream_response_time';";

    record Key(String vip, String code) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int c = vip.compareTo(o.vip);
            return c != 0 ? c : code.compareTo(o.code);
        }
    }

    static final class Totals {
        long requests;
        long bytesIn;
        long bytesOut;
    }

    final Map<Key, Totals> byKey = new TreeMap<>();
    final Map<String, Long> proxiedByVip = new TreeMap<>();
    final Map<String, Long> requestsByVip = new TreeMap<>();
    long lines;

    AccessLog(List<String> logLines) {
        for (String line : logLines) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(" ");
            Key k = new Key(f[0], String.valueOf(Integer.parseInt(f[1])));
            Totals t = byKey.computeIfAbsent(k, x -> new Totals());
            t.requests++;
            t.bytesIn += Long.parseLong(f[2]);
            t.bytesOut += Long.parseLong(f[3]);
            requestsByVip.merge(f[0], 1L, Long::sum);
            if (!f[4].equals("-")) {
                proxiedByVip.merge(f[0], 1L, Long::sum);
            }
            lines++;
        }
    }
}
