#!/usr/bin/env python3
"""Helpers for bench/ab.sh and bench/cost.sh (python3 stdlib only).

    ab_helper.py ports N                     N free TCP ports (free on every address)
    ab_helper.py conf VARIANT KEYS PREFIX ... nginx.conf on stdout (see conf())
    ab_helper.py populate HOST_PREFIX PORTS.. one request per (VIP, status code)
    ab_helper.py scraper URL OUT [ENC [S]]   GET URL every S (1) seconds until SIGTERM
    ab_helper.py wrk FILE                    "rps p50_ms p99_ms errors" of a wrk --latency output
    ab_helper.py requests URL N              N keep-alive GETs on one connection
    ab_helper.py keys URL                    number of (source, VIP, code) keys in a scrape
    ab_helper.py threads MASTER_PID          "role pid tid on-cpu-ns comm" of every thread of the instance
    ab_helper.py cpu BEFORE AFTER WRK_FILE   "workers-us stats-us master-us" of CPU per request
    ab_helper.py idle BEFORE AFTER SECONDS   the same in ms per second, with no traffic
    ab_helper.py pss MASTER_PID              "role pid rss pss private" kB of each process of the instance
    ab_helper.py resident MASTER_PID         kB of distinct physical pages the instance maps (root)
    ab_helper.py writes MASTER_PID           "pid syscw" of each worker
    ab_helper.py metric URL NAME             the sum of a metric's samples in a Prometheus scrape
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
import struct
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


def role(pid):
    """what an nginx process is, from the title nginx gives it: m (master),
    w (worker), s (the ipng stats process, also when it shares its process
    with a cache manager), h (another helper: cache manager or loader)"""
    try:
        title = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode("ascii", "replace")
    except OSError:
        return "?"
    if "ipng stats process" in title:
        return "s"
    if "worker process" in title:
        return "w"
    if "master process" in title:
        return "m"
    return "h"


def instance(master):
    """the pids of an nginx instance: its master and every descendant
    (workers, the ipng stats process, cache helpers), master first"""
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            ppid = int(open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    out, todo = [], [master]
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(sorted(children.get(pid, [])))
    return out


def threads(master):
    """one line per thread of the whole nginx instance (the master, its
    workers, the ipng stats process and any other child): role (see role()),
    pid, tid, on-cpu nanoseconds (schedstat: exact, and without the time the
    hypervisor stole) and the thread's name"""
    out = []
    for pid in instance(master):
        try:
            r = role(pid)
            for tid in os.listdir("/proc/%d/task" % pid):
                base = "/proc/%d/task/%s/" % (pid, tid)
                ns = open(base + "schedstat").read().split()[0]
                comm = open(base + "comm").read().strip().replace(" ", "_")
                out.append("%s %d %s %s %s" % (r, pid, tid, ns, comm))
        except (OSError, IndexError, ValueError):
            continue
    return "\n".join(out)


# the columns of cpu() and idle(): where an instance's CPU time goes
ROLES = (("w", "workers"), ("s", "stats process"), ("mh", "master"))


def cpu_by_role(before, after):
    """on-cpu ns per column of ROLES between two threads() outputs; a thread
    that started in between counts from 0 (one that ended in between is
    missed: the stats process's JVM keeps its threads, C1 and C2 compiler
    threads included, on a 2-cpu machine)"""
    def read(path):
        rows = {}
        for l in open(path):
            f = l.split()
            if len(f) >= 4:
                rows[f[2]] = (f[0], int(f[3]))
        return rows
    a, b = read(before), read(after)
    ns = [0] * len(ROLES)
    for tid, (r, t) in b.items():
        d = t - a.get(tid, (r, 0))[1]
        for i, (roles, _) in enumerate(ROLES):
            if r in roles:
                ns[i] += d
    return ns


def cpu(before, after, wrk_path):
    """CPU time of the whole instance per request during a timed run, in us,
    by ROLES: workers, stats process, master (and any other helper)"""
    n = int(re.search(r"(\d+) requests in", open(wrk_path).read()).group(1))
    return " ".join("%.4f" % (x / 1000.0 / max(n, 1)) for x in cpu_by_role(before, after))


def idle(before, after, seconds):
    """CPU time of the whole instance per second with no traffic, in ms, by ROLES"""
    return " ".join("%.4f" % (x / 1e6 / seconds) for x in cpu_by_role(before, after))


def pss(master):
    """one line per process of the instance: role pid Rss Pss Private kB
    (/proc/PID/smaps_rollup: Pss shares a page among the processes that map
    it, so a page shared by the instance's processes counts once in their sum)"""
    out = []
    for pid in instance(master):
        f = {}
        try:
            for l in open("/proc/%d/smaps_rollup" % pid):
                k, _, v = l.partition(":")
                if v.strip().endswith("kB"):
                    f[k] = int(v.split()[0])
        except OSError:
            continue
        out.append("%s %d %d %d %d" % (role(pid), pid, f.get("Rss", 0), f.get("Pss", 0),
                                       f.get("Private_Clean", 0) + f.get("Private_Dirty", 0)))
    return "\n".join(out)


def resident(master):
    """kB of distinct physical pages resident in the instance's processes
    (/proc/PID/pagemap, root only): every page once, whether only the
    instance maps it or also other processes (Pss gives those away in part:
    libc, the nginx binary, libjvm when other JVMs run)"""
    frames = set()
    for pid in instance(master):
        try:
            maps = open("/proc/%d/maps" % pid).read().splitlines()
            pm = open("/proc/%d/pagemap" % pid, "rb")
        except OSError:
            continue
        with pm:
            for l in maps:
                lo, hi = (int(x, 16) for x in l.split()[0].split("-"))
                if l.endswith("[vsyscall]"):
                    continue
                try:
                    pm.seek(lo // 4096 * 8)
                    data = pm.read((hi - lo) // 4096 * 8)
                except OSError:
                    continue
                for (e,) in struct.iter_unpack("<Q", data):
                    if e >> 63:
                        pfn = e & ((1 << 55) - 1)
                        if pfn == 0:
                            return -1               # no frame numbers without CAP_SYS_ADMIN
                        frames.add(pfn)
    return len(frames) * 4


def writes(master):
    """per worker: pid and write system calls so far (/proc/PID/io syscw;
    one writev per response of a static file with sendfile off)"""
    out = []
    for pid in instance(master):
        if role(pid) == "w":
            for l in open("/proc/%d/io" % pid):
                if l.startswith("syscw:"):
                    out.append("%d %s" % (pid, l.split()[1]))
    return "\n".join(out)


def metric(url, name):
    """the sum of every sample of metric NAME in a Prometheus text scrape"""
    req = urllib.request.Request(url, headers={"Accept": "text/plain"})
    with urllib.request.urlopen(req, timeout=30) as r:
        t = r.read().decode()
    total = 0.0
    for l in t.splitlines():
        if l.startswith(name + " ") or l.startswith(name + "{"):
            total += float(l.rsplit(" ", 1)[1])
    return total


# ---------------------------------------------------------------- summary

NAMES = {"a": "(a) stock nginx", "b": "(b) stock + access_log 64k",
         "c": "(c) ipng_stats + scrape/1s", "d": "(d) lua dict + scrape/1s",
         "e": "(e) module, counting off"}
# the variant pairs whose CPU time per request the summary compares
PAIRS = (("c", "a"), ("c", "b"), ("c", "d"), ("e", "a"), ("c", "e"))
# targets on the instance's CPU time per request side by side, (x)/(y) <= t
CPU_TARGETS = {("c", "a"): 1.01, ("c", "b"): 1.00}

# columns of a result line of ab.sh's slices
MODE, VAR, ROUND, RPS, P50, P99, ERRS, PSS, SCRAPES, SCRAPE_MED, SCRAPE_MAX, SCRAPE_BYTES, SCRAPE_ERRS, STEAL = range(14)
CPU0 = 14                               # then one column per ROLES


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def quartiles(xs):
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    return q[0], q[2]


def spread(xs):
    """min..max and (max-min)/median in %"""
    if not xs:
        return "-"
    m = med(xs)
    return "%s..%s (%4.1f%%)" % (fmt(min(xs)), fmt(max(xs)), 100.0 * (max(xs) - min(xs)) / m if m else 0)


def fmt(x):
    return "%.0f" % x if x >= 1000 else "%.3f" % x if x < 10 else "%.1f" % x


def verdict(ok, smoke):
    return "n/a (smoke)" if smoke else "met" if ok else "MISSED"


def summary(path, smoke, max_steal):
    lines = [l for l in open(path) if l.strip()]
    rows = [l.split() for l in lines if not l.startswith("#")]
    # runs of rounds repeated because of steal time, kept commented
    stolen = [l.split()[1:] for l in lines if l.startswith("#steal ")]
    # "#keys MODE N", "#dropped MODE N": (c)'s zone after the last run
    zone_keys = {l.split()[1]: l.split()[2] for l in lines if l.startswith("#keys ")}
    dropped = {l.split()[1]: l.split()[2] for l in lines if l.startswith("#dropped ")}
    # "#together MODE VARIANT REP US...": every variant loaded at once, us per request by ROLES
    together_rows = [l.split()[1:] for l in lines if l.startswith("#together ")]
    # "#idle MODE VARIANT SECONDS MS...": no traffic, ms of CPU per second by ROLES
    idle_rows = [l.split()[1:] for l in lines if l.startswith("#idle ")]
    data = {}
    for r in rows:
        data.setdefault(r[MODE], []).append(r)
    out = []
    verdicts = []
    for mode in ("1key", "12k"):
        tog = [r for r in together_rows if r[0] == mode]
        idl = [r for r in idle_rows if r[0] == mode]
        if mode not in data and not tog:
            continue
        title = ("one key (a single VIP and status code)" if mode == "1key"
                 else "12,000 keys active (4 source tags x 50 VIPs x 60 codes, pre-populated)")
        if mode not in data:            # --rounds 0: the side-by-side runs alone
            out.append("== %s: side by side only (no alternated rounds) ==" % title)
        else:
            o2, v2 = slice_lines(title, data[mode], stolen, mode, smoke, max_steal)
            out.extend(o2)
            verdicts.extend(v2)
        o2, v2 = together_lines(tog, smoke)
        out.extend(o2)
        verdicts.extend((mode,) + v for v in v2)
        out.extend(idle_lines(idl, tog))
        if mode in zone_keys:
            out.append("  keys in (c)'s zone after the last run: %s" % zone_keys[mode])
        if mode in dropped:
            out.append("  nginx_ipng_dropped_records_total of (c) after the last run: %s%s"
                       % (dropped[mode], "" if float(dropped[mode]) == 0 else "   !! records were dropped"))
        out.append("")
    return out, verdicts


def slice_lines(title, rs, stolen, mode, smoke, max_steal):
    """the alternated slices of one mode: requests/s, latency, CPU, memory"""
    out = ["== %s ==" % title,
           "%-28s %10s  %-26s %8s  %-26s %7s %7s" % ("variant", "req/s", "spread min..max (range/med)",
                                                     "p99 ms", "spread min..max (range/med)", "p50 ms",
                                                     "steal%")]
    verdicts = []
    by = {}
    for v in "abcde":
        vr = [r for r in rs if r[VAR] == v]
        if not vr:
            continue
        by[v] = {int(r[ROUND]): r for r in vr}
        rps = [float(r[RPS]) for r in vr]
        p99 = [float(r[P99]) for r in vr]
        p50 = [float(r[P50]) for r in vr]
        st = [float(r[STEAL]) for r in vr]
        out.append("%-28s %10s  %-26s %8s  %-26s %7s %7s" % (NAMES[v], fmt(med(rps)), spread(rps),
                                                             fmt(med(p99)), spread(p99), fmt(med(p50)),
                                                             "%.1f" % max(st)))
    again = len([r for r in stolen if r[0] == mode]) // max(1, len(by))
    out.append("(steal%%: the largest share of nginx's or wrk's cpu the hypervisor took in one slice; "
               "rounds repeated for more than %s%%: %d, their slices left out)" % (max_steal, again))
    errs = sum(int(r[ERRS]) for r in rs)
    if errs:
        out.append("!! %d wrk errors / non-2xx responses in this mode" % errs)

    def ratio(x, y, col):
        mx = med([float(r[col]) for r in rs if r[VAR] == x])
        my = med([float(r[col]) for r in rs if r[VAR] == y])
        pair = [float(by[x][k][col]) / float(by[y][k][col]) for k in by[x] if k in by[y]
                and float(by[y][k][col]) > 0]
        return mx / my if my else float("nan"), med(pair), pair

    out.append("ratios (ratio of medians; median [min..max] of the per-round ratios, slices alternate a b c, b c a, c a b, ...;"
               " requests/s: the side-by-side CPU below is the precise measure):")
    for (x, y, col, what) in (("c", "a", RPS, "req/s"), ("c", "b", RPS, "req/s"), ("c", "a", P99, "p99  "),
                              ("c", "b", P99, "p99  "), ("c", "d", RPS, "req/s"), ("c", "d", P99, "p99  ")):
        if x not in by or y not in by:
            continue
        r, pm, pair = ratio(x, y, col)
        line = "  %s (%s)/(%s) = %.3f   per round %.3f [%.3f..%.3f]" % (
            what, x, y, r, pm, min(pair) if pair else 0, max(pair) if pair else 0)
        if (x, y, col) == ("c", "a", P99):
            # "equal to stock within the run's noise": the per-round ratio's median
            # no further above 1 than (a)'s own p99 moves from round to round
            # (interquartile range over median)
            pa = [float(r[P99]) for r in rs if r[VAR] == "a"]
            q1, q3 = quartiles(pa)
            noise = (q3 - q1) / med(pa) if med(pa) else 0.0
            ok = pm <= 1.0 + noise
            line += "   target <= 1 + noise (IQR/median of (a)'s p99: %.3f): %s" % (noise, verdict(ok, smoke))
            if not smoke:
                verdicts.append((mode, "p99 within noise", x, y, ok))
        out.append(line)
    out.extend(cpu_lines(rs))
    c = [r for r in rs if r[VAR] == "c"]
    sc = [r for r in c if int(r[SCRAPES]) > 0]
    if sc:
        out.append("  scrapes during (c): %d, render+transfer median %.1f ms, max %.1f ms, %d bytes, %d failed"
                   % (sum(int(r[SCRAPES]) for r in sc), med([float(r[SCRAPE_MED]) for r in sc]),
                      max(float(r[SCRAPE_MAX]) for r in sc), max(int(r[SCRAPE_BYTES]) for r in sc),
                      sum(int(r[SCRAPE_ERRS]) for r in c)))
    pss_by = {v: med([int(r[PSS]) for r in rs if r[VAR] == v]) for v in by}
    if "a" in pss_by:
        out.append("  instance PSS after a slice (master + workers + stats process, medians): "
                   + ", ".join("(%s) %.1f MB%s" % (v, pss_by[v] / 1024,
                                                   "" if v == "a" else " (%+.1f)" % ((pss_by[v] - pss_by["a"]) / 1024))
                               for v in sorted(pss_by)))
    return out, verdicts


def cpu_lines(rs):
    """the instance's CPU time per request in the timed slices (columns CPU0..
    of a result line): what each variant costs, free of the hypervisor's
    noise in requests/s"""
    rows = [r for r in rs if len(r) >= CPU0 + len(ROLES)]
    if not rows:
        return []
    out = ["CPU time of the whole instance per request, timed slices, medians (%s):"
           % " + ".join(n for _, n in ROLES)]
    tot = {}
    for v in "abcde":
        vr = [r for r in rows if r[VAR] == v]
        if vr:
            parts = [med([float(r[CPU0 + i]) for r in vr]) for i in range(len(ROLES))]
            tot[v] = med([sum(float(x) for x in r[CPU0:CPU0 + len(ROLES)]) for r in vr])
            out.append("  %-28s %6.3f us = %s" % (NAMES[v], tot[v], " + ".join("%6.3f" % x for x in parts)))
    for x, y in PAIRS:
        if x in tot and y in tot and tot[y] > 0:
            out.append("  (%s)/(%s) = %.3f: %+.3f us per request" % (x, y, tot[x] / tot[y], tot[x] - tot[y]))
    return out


def together_lines(rows, smoke, pairs=PAIRS):
    """CPU time per request of the whole instance (every process and thread)
    with every variant loaded at once on the same cpus (ab.sh together(),
    thread-cost.sh): the ratios free of the machine's drift. Saturated cpus
    serve requests/s in inverse proportion to the CPU time per request, so
    the inverse ratios are printed too. Returns the lines and (what, x, y,
    met) verdicts for CPU_TARGETS."""
    if not rows:
        return [], []
    cost = {}                           # variant -> {rep: us per request}
    parts = {}                          # variant -> [[us by ROLES], ...]
    for r in rows:
        v, rep, us = r[1], r[2], [float(x) for x in r[3:]]
        cost.setdefault(v, {})[rep] = sum(us)
        parts.setdefault(v, []).append(us)
    out = ["CPU time of the whole instance per request with every variant loaded at once, same cpus, %d runs (medians):"
           % max(len(c) for c in cost.values())]
    out.append("  " + ", ".join("(%s) %.3f us" % (v, med(list(c.values()))) for v, c in sorted(cost.items())))
    if any(len(p) == len(ROLES) and p[1] for ps in parts.values() for p in ps):   # a stats process ran
        for v in sorted(parts):
            out.append("    (%s) = %s" % (v, " + ".join(
                "%s %.3f" % (ROLES[i][1], med([p[i] for p in parts[v]])) for i in range(len(ROLES)))))
    verdicts = []
    for x, y in pairs:
        if x in cost and y in cost:
            pair = [cost[x][k] / cost[y][k] for k in cost[x] if k in cost[y] and cost[y][k] > 0]
            if pair:
                line = "  (%s)/(%s) = %.3f per run [%s]" % (x, y, med(pair), " ".join("%.3f" % p for p in pair))
                tgt = CPU_TARGETS.get((x, y))
                if tgt is not None:
                    ok = med(pair) <= tgt
                    line += "   target <= %.2f: %s" % (tgt, verdict(ok, smoke))
                    if not smoke:
                        verdicts.append(("CPU side by side", x, y, ok))
                out.append(line)
                if tgt is not None:
                    out.append("    as requests/s of saturated cpus: (%s)/(%s) = %.3f" % (x, y, 1.0 / med(pair)))
    return out, verdicts


def idle_lines(rows, together_rows):
    """CPU per second of each instance with no traffic (ab.sh, before the
    warm-up): what it spends whatever the traffic, the stats process's drain
    thread's wake once a second included"""
    if not rows:
        return []
    out = ["idle, no traffic (%s s): CPU ms per second of each instance (%s):"
           % (rows[0][2], " + ".join(n for _, n in ROLES))]
    for r in rows:
        ms = [float(x) for x in r[3:]]
        out.append("  %-28s %7.3f ms/s = %s" % (NAMES[r[1]], sum(ms), " + ".join("%.3f" % x for x in ms)))
    return out


def jvm_summary(path, smoke):
    """the JVM's start from the stats process's notice, one per nginx start;
    "#notices N" lines (ab.sh) count the notices of each start"""
    ms, kb, counts = [], [], []
    for l in open(path):
        m = re.search(r"JVM started in (\d+) ms, stats process RSS \+(\d+) kB", l)
        if m:
            ms.append(int(m.group(1)))
            kb.append(int(m.group(2)))
        elif l.startswith("#notices "):
            counts.append(int(l.split()[1]))
    if not ms:
        return (["JVM start: no 'ipng_stats: JVM started in N ms, stats process RSS +N kB' notice found"],
                [] if smoke else [("jvm", "start", "", "", False)])
    t_ok, r_ok = max(ms) <= 150, max(kb) <= 64 * 1024
    one = bool(counts) and all(c == 1 for c in counts)
    out = ["== the JVM, one per instance (the stats process's notice 'ipng_stats: JVM started in N ms,"
           " stats process RSS +N kB'; (c) started alone %d times) ==" % len(counts),
           "  JVMs started per nginx start: %s   target 1: %s" % (" ".join(str(c) for c in counts) or "-",
                                                                  verdict(one, smoke)),
           "  start time : median %d ms, min %d, max %d          target <= 150 ms: %s"
           % (med(ms), min(ms), max(ms), verdict(t_ok, smoke)),
           "  RSS added  : median %.1f MB, min %.1f, max %.1f    target <= 64 MB (the instance's, memory.sh): %s"
           % (med(kb) / 1024, min(kb) / 1024, max(kb) / 1024, verdict(r_ok, smoke))]
    return out, [] if smoke else [("jvm", "one per start", "", "", one), ("jvm", "start ms", "", "", t_ok),
                                  ("jvm", "RSS", "", "", r_ok)]


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
    elif cmd == "idle":
        print(idle(a[0], a[1], float(a[2])))
    elif cmd == "pss":
        print(pss(int(a[0])))
    elif cmd == "resident":
        print(resident(int(a[0])))
    elif cmd == "writes":
        print(writes(int(a[0])))
    elif cmd == "metric":
        print("%g" % metric(a[0], a[1]))
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
