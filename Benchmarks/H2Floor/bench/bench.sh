#!/bin/bash
# usage: bench.sh NAME PORT PID... ; prints: NAME reqs req/s cpu_us_per_req load
name=$1; port=$2; shift 2; pids="$@"
url="https://127.0.0.1:$port/some/path?x=1"
tck=$(getconf CLK_TCK)
cpu() { local t=0; for p in $pids; do read -r -a f < /proc/$p/stat; t=$((t + f[13] + f[14])); done; echo $t; }
h2load -c64 -m10 -D 2 "$url" -H 'x-forwarded-for: 81.2.69.160' > /tmp/h2floor/warm-$name.log 2>&1
c0=$(cpu)
h2load -c64 -m10 -D 10 "$url" -H 'x-forwarded-for: 81.2.69.160' > /tmp/h2floor/run-$name.log 2>&1
c1=$(cpu)
la=$(cut -d' ' -f1 /proc/loadavg)
reqs=$(grep -oP 'requests: \d+ total, \d+ started, \d+ done, \K\d+(?= succeeded)' /tmp/h2floor/run-$name.log)
rps=$(grep -oP 'finished in [0-9.]+s, \K[0-9.]+(?= req/s)' /tmp/h2floor/run-$name.log)
s3=$(grep -oP 'status codes: \d+ 2xx, \K\d+(?= 3xx)' /tmp/h2floor/run-$name.log)
us=$(awk -v d=$((c1-c0)) -v t=$tck -v n=$reqs 'BEGIN{printf "%.2f", d/t/n*1e6}')
echo "$name reqs=$reqs 3xx=$s3 rps=$rps cpu_ticks=$((c1-c0)) us_per_req=$us load1=$la"
