"""UDP receiver for the logtail blocks of t/logtail.t (see t/lib/logtail.sh).

udp_recv.py PORT EXPECT PATTERN LIMIT [TIMEOUT [MIN_DATAGRAMS]]: binds
127.0.0.1:PORT, touches recv.ready, and reads datagrams until none comes for
TIMEOUT seconds (1.5); fails unless it got EXPECT lines, each matching
PATTERN, in at least MIN_DATAGRAMS (1) datagrams of at most LIMIT bytes that
end with a newline.
"""
import re, socket, sys
port, expect, pattern, limit = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("127.0.0.1", port))
open("recv.ready", "w").close()
s.settimeout(float(sys.argv[5]) if len(sys.argv) > 5 else 1.5)
lines, grams = [], 0
try:
    while True:
        d = s.recv(70000)
        grams += 1
        assert d.endswith(b"\n") and len(d) <= limit, "bad datagram %d bytes" % len(d)
        lines += d.decode().split("\n")[:-1]
except socket.timeout:
    pass
bad = [l for l in lines if not re.fullmatch(pattern, l)]
print("datagrams=%d lines=%d" % (grams, len(lines)))
if len(lines) != expect or bad or grams < (int(sys.argv[6]) if len(sys.argv) > 6 else 1):
    sys.exit("want %d lines, got %d in %d datagrams; unexpected: %r" % (expect, len(lines), grams, bad[:3]))
