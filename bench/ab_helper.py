#!/usr/bin/env python3
"""Helpers for bench/ab.sh and bench/cost.sh (python3 stdlib only).

    ab_helper.py ports N                     N free TCP ports (free on every address)
    ab_helper.py conf VARIANT KEYS PREFIX ... nginx.conf on stdout (see conf())
    ab_helper.py populate HOST_PREFIX PORTS.. one request per (VIP, status code)
    ab_helper.py scraper URL OUT [ENC [S]]   GET URL every S (1) seconds until SIGTERM
    ab_helper.py wrk FILE                    "rps p50_ms p99_ms errors" of a wrk --latency output
    ab_helper.py requests URL N              N keep-alive GETs on one connection
    ab_helper.py keys URL                    number of (source, VIP, code) keys in a scrape
    ab_helper.py threads MASTER_PID          "tid comm on-cpu-ns" of every thread of its workers
    ab_helper.py cpu BEFORE AFTER WRK_FILE   "event-loop-us jvm-us" of CPU per request
    ab_helper.py together FILE X/Y ...       the side-by-side summary of FILE's "#together" rows
    ab_helper.py summary RESULTS             the report of bench/ab.sh
"""

import http.client
import json
import os
import re
import signal
import socket
import statistics
import sys
import time
import urllib.parse
import urllib.request

# 4 source tags x 50 VIPs x 60 status codes = 12,000 keys (the reference workload)
SOURCES = 4
VIPS = 50
CODES = ([c for c in range(200, 221) if c != 204]
         + list(range(400, 420)) + list(range(500, 520)))
assert len(CODES) == 60


def vip(i):
    return "127.0.1.%d" % (i + 1)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("0.0.0.0", 0))          # free on the wildcard: free on every address
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


# (d): the peer an operator would otherwise pick, counting in a lua_shared_dict
# per request the way nginx-lua-prometheus does (every incr takes the shared
# dictionary's lock); the same key as (c), (VIP, port, status), with bytes in
# and out; its /status walks the dictionary.
LUA_MODULES = ["/usr/lib/nginx/modules/ndk_http_module.so",
               "/usr/lib/nginx/modules/ngx_http_lua_module.so"]
LUA_LOG = """    lua_shared_dict ipng_lua 32m;
    log_by_lua_block {
        local d = ngx.shared.ipng_lua
        local k = ngx.var.server_addr .. " " .. ngx.var.server_port .. " " .. ngx.status
        d:incr(k, 1, 0)
        d:incr(k .. " in", tonumber(ngx.var.request_length) or 0, 0)
        d:incr(k .. " out", tonumber(ngx.var.bytes_sent) or 0, 0)
    }"""
LUA_STATUS = """content_by_lua_block {
            local d = ngx.shared.ipng_lua
            local out = {}
            for _, k in ipairs(d:get_keys(0)) do
                out[#out + 1] = k .. " " .. tostring(d:get(k))
            end
            ngx.say(table.concat(out, "\\n"))
        }"""


def conf(variant, keys, prefix, module, jar, workers, port, kports):
    """variant: a = stock, b = stock + access_log buffer=64k, c = ipng_stats,
    d = stock + lua_shared_dict counters (LUA_LOG).
    keys: 1 adds 4 x 50 listeners (127.0.1.1-50, one port per source tag)
    and 60 `location = /sNNN { return NNN; }`; identical for all variants
    except the source tag parameter, which only (c) understands."""
    o = []
    if variant in "ce":
        o.append("load_module %s;" % module)
    if variant == "d":
        o += ["load_module %s;" % m for m in LUA_MODULES]
    if workers == 0:                    # single process (callgrind): no master, no fork
        o += ["master_process off;", "daemon off;"]
    o += ["worker_processes %d;" % max(workers, 1),
          "error_log %s/logs/error.log notice;" % prefix,
          "pid %s/logs/nginx.pid;" % prefix,
          "events { worker_connections 4096; }",
          "http {",
          "    default_type text/html;",
          "    keepalive_requests 1000000;",
          "    keepalive_timeout 75s;"]
    if variant == "b":
        o.append("    access_log %s/logs/access.log combined buffer=64k;" % prefix)
    else:
        o.append("    access_log off;")
    if variant in "ce":
        o += ["    ipng_stats_zone ipng:4m;",
              "    ipng_stats_classpath %s;" % jar]
    if variant == "e":
        o.append("    ipng_stats off;")
    if variant == "d":
        o.append(LUA_LOG)
    o += ["    server {",
          "        listen 127.0.0.1:%d;" % port]
    if keys:
        for s, kp in enumerate(kports):
            tag = " ipng_source_tag=src%d" % s if variant in "ce" else ""
            for v in range(VIPS):
                o.append("        listen %s:%d%s;" % (vip(v), kp, tag))
    o += ["        root %s/html;" % prefix,
          "        location = /status { %s }"
          % ("ipng_stats;" if variant in "ce" else LUA_STATUS if variant == "d" else "stub_status;")]
    if keys:
        for c in CODES:
            o.append('        location = /s%d { return %d "x\\n"; }' % (c, c))
    o += ["    }", "}"]
    return "\n".join(o) + "\n"


def populate(ports):
    n = 0
    for p in ports:
        for v in range(VIPS):
            h = http.client.HTTPConnection(vip(v), p, timeout=10)
            for c in CODES:
                h.request("GET", "/s%d" % c)
                r = h.getresponse()
                r.read()
                if r.status != c:
                    raise SystemExit("populate: /s%d answered %d" % (c, r.status))
                n += 1
            h.close()
    return n


def fetch(url, buf, encoding="identity"):
    """GET url over HTTP/1.0 into buf (reused); the body's size, or raise unless 200.

    encoding is sent as Accept-Encoding; Prometheus sends "gzip" and
    unpacks on its own machine, so a gzip body is counted, not unpacked.

    Lean on purpose: the scraper shares wrk's core, and urllib's read() of a
    3 MB answer (chunks joined into new bytes) took CPU from wrk there, so
    the client's cost showed up in (c)'s latency. recv_into one reused buffer
    costs the kernel's copy and little else."""
    u = urllib.parse.urlsplit(url)
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    s = socket.create_connection((u.hostname, u.port or 80), timeout=5)
    try:
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\nAccept-Encoding: %s\r\n\r\n"
                   % (path, u.hostname, encoding)).encode("ascii"))
        view, head, total = memoryview(buf), b"", 0
        while True:
            n = s.recv_into(view)
            if n == 0:
                break
            if len(head) < 8192 and b"\r\n\r\n" not in head:
                head += bytes(view[:min(n, 8192)])
            total += n
    finally:
        s.close()
    end = head.find(b"\r\n\r\n")
    if end < 0 or head[9:12] != b"200":
        raise IOError("scrape of %s: %r" % (url, head[:40]))
    return total - (end + 4)


def scraper(url, out, encoding, interval=1.0):
    buf = bytearray(1 << 20)
    durs, sizes, errs = [], [], [0]
    stop = [False]

    def term(*_):
        stop[0] = True

    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGINT, term)
    nxt = time.monotonic()
    while not stop[0]:
        t0 = time.monotonic()
        try:
            sizes.append(fetch(url, buf, encoding))
            durs.append((time.monotonic() - t0) * 1000.0)
        except Exception:
            errs[0] += 1
        nxt += interval
        while not stop[0] and time.monotonic() < nxt:
            time.sleep(min(0.05, max(0.0, nxt - time.monotonic())))
    with open(out, "w") as f:
        if durs:
            f.write("%d %.2f %.2f %d %d\n" % (len(durs), statistics.median(durs),
                                              max(durs), max(sizes), errs[0]))
        else:
            f.write("0 0 0 0 %d\n" % errs[0])


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    x, u = float(m.group(1)), m.group(2)
    return x / 1000.0 if u == "us" else x if u == "ms" else x * 1000.0 if u == "s" else x * 60000.0


def wrk(path):
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
    errs = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
    if m:
        errs += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    if m:
        errs += sum(int(x) for x in m.groups())
    return "%.1f %.4f %.4f %d" % (rps, p50, p99, errs)


def cpus(spec):
    """the cpu numbers of a taskset list: "0", "0-2", "0,3" """
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def steal(before, after, spec):
    """the largest share of time (%) the hypervisor took from one of the cpus
    in spec between two copies of /proc/stat (field 8 of a cpuN line)"""
    def read(path):
        rows = {}
        for l in open(path):
            f = l.split()
            if f[0].startswith("cpu") and f[0] != "cpu":
                rows[int(f[0][3:])] = [int(x) for x in f[1:]]
        return rows
    a, b = read(before), read(after)
    worst = 0.0
    for c in cpus(spec):
        if c in a and c in b:
            d = [y - x for x, y in zip(a[c], b[c])]
            if sum(d) > 0 and len(d) > 7:
                worst = max(worst, 100.0 * d[7] / sum(d))
    return worst


def requests(url, n):
    m = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    h = http.client.HTTPConnection(m.group(1), int(m.group(2)), timeout=600)
    for _ in range(n):
        h.request("GET", m.group(3))
        r = h.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit("requests: %s answered %d" % (url, r.status))
    h.close()


def keys(url):
    req = urllib.request.Request(url, headers={"Accept": "text/plain"})
    with urllib.request.urlopen(req, timeout=30) as r:
        t = r.read().decode()
    return sum(1 for l in t.splitlines() if l.startswith("nginx_ipng_requests_total{"))


def threads(master):
    """one line per thread of every child of the nginx master: worker pid,
    tid, on-cpu nanoseconds (schedstat: exact, and without the time the
    hypervisor stole) and the thread's name"""
    out = []
    for pid in os.listdir("/proc"):
        try:
            if not pid.isdigit() or int(open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[1]) != master:
                continue
            for tid in os.listdir("/proc/%s/task" % pid):
                base = "/proc/%s/task/%s/" % (pid, tid)
                ns = open(base + "schedstat").read().split()[0]
                comm = open(base + "comm").read().strip().replace(" ", "_")
                out.append("%s %s %s %s" % (pid, tid, ns, comm))
        except (OSError, IndexError, ValueError):
            continue
    return "\n".join(out)


def cpu(before, after, wrk_path):
    """CPU time per request of the workers during a timed slice, in us: their
    event-loop threads (tid == pid) and every other thread (the JVM's); a
    thread that started or ended in between counts what it ran in the slice"""
    def read(path):
        rows = {}
        for l in open(path):
            f = l.split()
            if len(f) >= 3:
                rows[f[1]] = (f[0] == f[1], int(f[2]))
        return rows
    a, b = read(before), read(after)
    loop = other = 0
    for tid, (main_thread, ns) in b.items():
        d = ns - a.get(tid, (main_thread, 0))[1]
        if main_thread:
            loop += d
        else:
            other += d
    n = int(re.search(r"(\d+) requests in", open(wrk_path).read()).group(1))
    return "%.4f %.4f" % (loop / 1000.0 / max(n, 1), other / 1000.0 / max(n, 1))


# ---------------------------------------------------------------- summary

NAMES = {"a": "(a) stock nginx", "b": "(b) stock + access_log 64k",
         "c": "(c) ipng_stats + scrape/1s", "d": "(d) lua dict + scrape/1s",
         "e": "(e) module, counting off"}
# the variant pairs whose CPU time per request the summary compares
PAIRS = (("c", "a"), ("c", "b"), ("c", "d"), ("e", "a"), ("c", "e"))


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    """min..max and (max-min)/median in %"""
    if not xs:
        return "-"
    m = med(xs)
    return "%s..%s (%4.1f%%)" % (fmt(min(xs)), fmt(max(xs)), 100.0 * (max(xs) - min(xs)) / m if m else 0)


def fmt(x):
    return "%.0f" % x if x >= 1000 else "%.3f" % x if x < 10 else "%.1f" % x


def summary(path, smoke, max_steal):
    lines = [l for l in open(path) if l.strip()]
    rows = [l.split() for l in lines if not l.startswith("#")]
    # runs of rounds repeated because of steal time, kept commented
    stolen = [l.split()[1:] for l in lines if l.startswith("#steal ")]
    # "#keys MODE N": the keys in (c)'s zone after the last round
    zone_keys = {l.split()[1]: l.split()[2] for l in lines if l.startswith("#keys ")}
    # "#together MODE VARIANT REP LOOP_US OTHER_US": every variant loaded at once
    together_rows = [l.split()[1:] for l in lines if l.startswith("#together ")]
    # mode variant round rps p50 p99 errs rss_kb scrapes scrape_med scrape_max scrape_bytes scrape_errs steal
    # loop_us_per_request other_us_per_request
    data = {}
    for r in rows:
        data.setdefault(r[0], []).append(r)
    out = []
    verdicts = []
    for mode in ("1key", "12k"):
        tog = [r for r in together_rows if r[0] == mode]
        if mode not in data:            # --rounds 0: the side-by-side runs alone
            if tog:
                o2, v2 = together_lines(tog, smoke)
                out.extend(["== %s: side by side only (no alternated rounds) ==" % mode] + o2 + [""])
                verdicts.extend((mode,) + v for v in v2)
            continue
        rs = data[mode]
        title = ("one key (a single VIP and status code)" if mode == "1key"
                 else "12,000 keys active (4 source tags x 50 VIPs x 60 codes, pre-populated)")
        out.append("== %s ==" % title)
        out.append("%-28s %10s  %-26s %8s  %-26s %7s %7s" % ("variant", "req/s", "spread min..max (range/med)",
                                                             "p99 ms", "spread min..max (range/med)", "p50 ms",
                                                             "steal%"))
        by = {}
        for v in "abcde":
            vr = [r for r in rs if r[1] == v]
            if not vr:
                continue
            by[v] = {int(r[2]): r for r in vr}
            rps = [float(r[3]) for r in vr]
            p99 = [float(r[5]) for r in vr]
            p50 = [float(r[4]) for r in vr]
            st = [float(r[13]) for r in vr]
            out.append("%-28s %10s  %-26s %8s  %-26s %7s %7s" % (NAMES[v], fmt(med(rps)), spread(rps),
                                                                 fmt(med(p99)), spread(p99), fmt(med(p50)),
                                                                 "%.1f" % max(st)))
        again = len([r for r in stolen if r[0] == mode]) // max(1, len(by))
        out.append("(steal%%: the largest share of nginx's or wrk's cpu the hypervisor took in one slice; "
                   "rounds repeated for more than %s%%: %d, their slices left out)" % (max_steal, again))
        errs = sum(int(r[6]) for r in rs)
        if errs:
            out.append("!! %d wrk errors / non-2xx responses in this mode" % errs)

        def ratio(x, y, col):
            mx = med([float(r[col]) for r in rs if r[1] == x])
            my = med([float(r[col]) for r in rs if r[1] == y])
            pair = [float(by[x][k][col]) / float(by[y][k][col]) for k in by[x] if k in by[y]
                    and float(by[y][k][col]) > 0]
            return mx / my if my else float("nan"), med(pair), pair

        out.append("ratios (ratio of medians; median [min..max] of the per-round ratios, slices alternate a b c, b c a, c a b, ...):")
        for (x, y, col, what, tgt, hib) in (("c", "a", 3, "req/s", 0.98, True),
                                              ("c", "b", 3, "req/s", 1.00, True),
                                              ("c", "a", 5, "p99  ", None, False),
                                              ("c", "b", 5, "p99  ", 1.00, False),
                                              ("c", "d", 3, "req/s", None, True),
                                              ("c", "d", 5, "p99  ", None, False)):
            if y not in by or not by[y]:
                continue
            r, pm, pair = ratio(x, y, col)
            line = "  %s (%s)/(%s) = %.3f   per round %.3f [%.3f..%.3f]" % (
                what, x, y, r, pm, min(pair) if pair else 0, max(pair) if pair else 0)
            if tgt is not None:
                ok = (r >= tgt) if hib else (r <= tgt)
                line += "   target %s %.2f: %s" % (">=" if hib else "<=", tgt,
                                                   "n/a (smoke)" if smoke else "met" if ok else "MISSED")
                if not smoke:
                    verdicts.append((mode, what.strip(), x, y, ok))
            out.append(line)
        out.extend(cpu_lines(rs, by))
        c = [r for r in rs if r[1] == "c"]
        sc = [r for r in c if int(r[8]) > 0]
        if sc:
            out.append("  scrapes during (c): %d, render+transfer median %.1f ms, max %.1f ms, %d bytes, %d failed"
                       % (sum(int(r[8]) for r in sc), med([float(r[9]) for r in sc]),
                          max(float(r[10]) for r in sc), max(int(r[11]) for r in sc),
                          sum(int(r[12]) for r in c)))
        o2, v2 = together_lines(tog, smoke)
        out.extend(o2)
        verdicts.extend((mode,) + v for v in v2)
        if mode in zone_keys:
            out.append("  keys in (c)'s zone after the last round: %s" % zone_keys[mode])
        ra = [int(r[7]) for r in rs if r[1] == "a"]
        rc = [int(r[7]) for r in rs if r[1] == "c"]
        if ra and rc:
            out.append("  worker RSS after a slice: (a) %.1f MB, (c) %.1f MB, added by the module %+.1f MB (medians)"
                       % (med(ra) / 1024, med(rc) / 1024, (med(rc) - med(ra)) / 1024))
        rd = [int(r[7]) for r in rs if r[1] == "d"]
        if ra and rd:
            out.append("  worker RSS after a slice: (d) %.1f MB, %+.1f MB over (a) (medians)"
                       % (med(rd) / 1024, (med(rd) - med(ra)) / 1024))
        out.append("")
    return out, verdicts


def cpu_lines(rs, by):
    """the workers' CPU time per request (columns 15, 16 of a result line):
    what each variant costs, free of the hypervisor's noise in requests/s"""
    rows = [r for r in rs if len(r) > 15]
    if not rows:
        return []
    out = ["CPU time of the nginx workers per request, timed slices, medians (event loop + other threads):"]
    tot = {}
    for v in "abcde":
        vr = [r for r in rows if r[1] == v]
        if vr:
            loop = med([float(r[14]) for r in vr])
            other = med([float(r[15]) for r in vr])
            tot[v] = med([float(r[14]) + float(r[15]) for r in vr])
            out.append("  %-28s %6.3f us = %6.3f + %6.3f" % (NAMES[v], tot[v], loop, other))
    for x, y in PAIRS:
        if x in tot and y in tot and tot[y] > 0:
            out.append("  (%s)/(%s) = %.3f: %+.3f us per request" % (x, y, tot[x] / tot[y], tot[x] - tot[y]))
    return out


def together_lines(rows, smoke, pairs=PAIRS):
    """CPU time per request with every variant loaded at once on the same
    cpus (ab.sh together(), thread-cost.sh): the ratios free of the
    machine's drift. A saturated worker serves requests/s in inverse
    proportion to its CPU time per request, so the inverse ratios of (c) are
    checked against the requests/s targets too. Returns the lines and
    (what, x, y, met) verdicts."""
    if not rows:
        return [], []
    cost = {}                           # variant -> {rep: us per request}
    for mode, v, rep, loop, other in rows:
        cost.setdefault(v, {})[rep] = float(loop) + float(other)
    out = ["CPU time per request with every variant loaded at once, same cpus, %d runs (medians):"
           % max(len(c) for c in cost.values())]
    out.append("  " + ", ".join("(%s) %.3f us" % (v, med(list(c.values()))) for v, c in sorted(cost.items())))
    verdicts = []
    for x, y in pairs:
        if x in cost and y in cost:
            pair = [cost[x][k] / cost[y][k] for k in cost[x] if k in cost[y] and cost[y][k] > 0]
            if pair:
                out.append("  (%s)/(%s) = %.3f per run [%s]" % (x, y, med(pair), " ".join("%.3f" % p for p in pair)))
                tgt = {"a": 0.98, "b": 1.00}.get(y) if x == "c" else None
                if tgt is not None:
                    ok = 1.0 / med(pair) >= tgt
                    out.append("    as requests/s of a saturated worker: (%s)/(%s) = %.3f   target >= %.2f: %s"
                               % (x, y, 1.0 / med(pair), tgt, "n/a (smoke)" if smoke else "met" if ok else "MISSED"))
                    if not smoke:
                        verdicts.append(("req/s side by side", x, y, ok))
    return out, verdicts


def jvm_summary(path, smoke):
    ms, kb = [], []
    for l in open(path):
        m = re.search(r"JVM started in (\d+) ms, worker RSS \+(\d+) kB", l)
        if m:
            ms.append(int(m.group(1)))
            kb.append(int(m.group(2)))
    if not ms:
        return ["JVM start: no 'ipng_stats: JVM started' notice found"], [("jvm", "start", "", "", False)]
    t_ok, r_ok = max(ms) <= 150, max(kb) <= 48 * 1024
    tag = lambda ok: "n/a (smoke)" if smoke else "met" if ok else "MISSED"
    out = ["== JVM per worker (from the notice 'ipng_stats: JVM started in N ms, worker RSS +N kB', %d starts) ==" % len(ms),
           "  start time : median %d ms, min %d, max %d          target <= 150 ms: %s" % (med(ms), min(ms), max(ms), tag(t_ok)),
           "  RSS added  : median %.1f MB, min %.1f, max %.1f    target <= 48 MB: %s" % (
               med(kb) / 1024, min(kb) / 1024, max(kb) / 1024, tag(r_ok))]
    return out, [] if smoke else [("jvm", "start ms", "", "", t_ok), ("jvm", "RSS", "", "", r_ok)]


def cgparse(path, funcs):
    """total Ir of a callgrind dump, and calls + inclusive Ir of each function
    (summed over its call sites: the 'calls=' lines and the cost line after them)"""
    names, total, res = {}, 0, {f: [0, 0] for f in funcs}
    fn, cfn, after_calls, ncalls = None, None, False, 0

    def name(tok):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", tok)
        if not m:
            return tok
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), "?")

    for line in open(path):
        line = line.rstrip("\n")
        if after_calls:
            after_calls = False
            for k in (cfn, "%s>%s" % (fn, cfn)):   # "caller>callee" counts one call site
                if k in res:
                    res[k][0] += ncalls
                    res[k][1] += int(line.split()[-1])
            continue
        if line.startswith("cfn="):
            cfn = name(line[4:])
        elif line.startswith(("fn=", "cfi=", "cfl=", "fi=", "fe=", "fl=", "ob=", "cob=")):
            if line.startswith("fn="):
                fn = name(line[3:])
        elif line.startswith("calls="):
            ncalls = int(line[6:].split()[0])
            after_calls = True
        elif line.startswith(("totals:", "summary:")):
            total = int(line.split()[1])
    return total, res


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "ports":
        print(" ".join(str(p) for p in free_ports(int(a[0]))))
    elif cmd == "conf":
        variant, keys_, prefix, module, jar, workers, port = a[:7]
        sys.stdout.write(conf(variant, keys_ == "1", prefix, module, jar, int(workers), int(port),
                              [int(x) for x in a[7:]]))
    elif cmd == "populate":
        print(populate([int(x) for x in a]))
    elif cmd == "scraper":
        scraper(a[0], a[1], a[2] if len(a) > 2 else "identity", float(a[3]) if len(a) > 3 else 1.0)
    elif cmd == "wrk":
        print(wrk(a[0]))
    elif cmd == "steal":
        print("%.1f" % steal(a[0], a[1], a[2]))
    elif cmd == "requests":
        requests(a[0], int(a[1]))
    elif cmd == "keys":
        print(keys(a[0]))
    elif cmd == "threads":
        print(threads(int(a[0])))
    elif cmd == "cpu":
        print(cpu(a[0], a[1], a[2]))
    elif cmd == "together":
        rows = [l.split()[1:] for l in open(a[0]) if l.startswith("#together ")]
        print("\n".join(together_lines(rows, False, [tuple(x.split("/")) for x in a[1:]])[0]))
    elif cmd == "cgparse":
        total, res = cgparse(a[0], a[1:])
        print(total, " ".join("%d %d" % tuple(res[f]) for f in a[1:]))
    elif cmd == "summary":
        smoke = a[2] == "1"
        out, v = summary(a[0], smoke, a[3] if len(a) > 3 else "100")
        o2, v2 = jvm_summary(a[1], smoke)
        out += o2
        v += v2
        if not smoke:
            missed = [x for x in v if not x[4]]
            out.append("")
            out.append("targets: %d checked, %d missed%s" % (len(v), len(missed), "" if not missed else ": " + "; ".join(
                "%s %s%s" % (m[0], m[1], " (%s)/(%s)" % (m[2], m[3]) if m[2] else "") for m in missed)))
        print("\n".join(out))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
