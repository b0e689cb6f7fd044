-- wrk script for scripts/bench-tls. Each request is GET $REQ_PATH with Host gslb.example.test
-- and an X-Forwarded-For taken in turn from the client IPs in $IPS_FILE (one per line), so the
-- load matches the peer kit's. With CONNECTION_CLOSE=1 every request also says
-- "Connection: close": the server answers and closes, and wrk opens a new connection (a new TCP
-- and TLS handshake) for the next request.
-- At the end one line is printed for scripts/bench-tls to read:
--   RESULT rps=... requests=... secs=... p50_us=... p90_us=... p99_us=... max_us=... mean_us=... err_*=...
local ip_path = os.getenv("IPS_FILE") or "ips.txt"
local target = os.getenv("REQ_PATH") or "/some/path?x=1"
local close = os.getenv("CONNECTION_CLOSE") == "1"
local prepared = {}
local next_index = 0

function init(args)
  local addresses = {}
  for line in io.lines(ip_path) do
    if line ~= "" then table.insert(addresses, line) end
  end
  local start = math.random(#addresses)
  for n = 0, #addresses - 1 do
    local headers = { Host = "gslb.example.test",
                      ["X-Forwarded-For"] = addresses[(start + n) % #addresses + 1] }
    if close then headers["Connection"] = "close" end
    prepared[n + 1] = wrk.format("GET", target, headers)
  end
end

function request()
  next_index = next_index % #prepared + 1
  return prepared[next_index]
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1000000
  local errors = summary.errors
  print(string.format("RESULT rps=%.0f requests=%d secs=%.2f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f"
      .. " err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d",
    summary.requests / seconds, summary.requests, seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
