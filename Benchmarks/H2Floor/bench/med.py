import re,sys,statistics,collections
d=collections.defaultdict(list)
for f in sys.argv[1:]:
    for l in open(f):
        m=re.match(r"(\S+) reqs=(\d+) 3xx=(\d+) rps=([\d.]+) cpu_ticks=(\d+) us_per_req=([\d.]+) load1=([\d.]+)",l)
        if m: d[m.group(1)].append((float(m.group(4)),float(m.group(6)),float(m.group(7)),int(m.group(5))))
for k,v in d.items():
    print(f"{k:30s} n={len(v)} rps_med={statistics.median(x[0] for x in v):9.0f} us_med={statistics.median(x[1] for x in v):5.2f} us_all={[x[1] for x in v]} cpu%={[x[3]/10 for x in v]} load={[x[2] for x in v]}")
