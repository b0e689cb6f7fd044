-- wrk script for scripts/bench-cache. Every request is GET with Host gslb.example.test and an
-- X-Forwarded-For taken in turn from the client IPs in $IPS_FILE (the peer kit's ips.txt), as in
-- the kit's xff.lua, so the request shape is the same for every server and scenario.
--   REQ_PATH=/obj          the same path on every request (hit, pass and origin scenarios)
--   UNIQUE_PREFIX=/u/TAG   every request a different path: /u/TAG/<thread>/<counter>, so every
--                          request misses a cache (miss and proxy scenarios); scripts/bench-cache
--                          gives each wrk run its own TAG, so no later run finds an earlier URL
-- At the end one line is printed for scripts/bench-cache to read:
--   RESULT rps=... requests=... secs=... p50_us=... p90_us=... p99_us=... max_us=... mean_us=... err_*=...
local ip_path = os.getenv("IPS_FILE") or "ips.txt"
local fixed_path = os.getenv("REQ_PATH") or "/obj"
local unique_prefix = os.getenv("UNIQUE_PREFIX") or ""

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local prepared, tails = {}, {}
local next_index, counter, prefix = 0, 0, ""

function init(args)
  local addresses = {}
  for line in io.lines(ip_path) do
    if line ~= "" then table.insert(addresses, line) end
  end
  local start = math.random(#addresses)
  for n = 0, #addresses - 1 do
    local ip = addresses[(start + n) % #addresses + 1]
    prepared[n + 1] = wrk.format("GET", fixed_path, { Host = "gslb.example.test", ["X-Forwarded-For"] = ip })
    -- the same request without its request line, for the unique paths
    tails[n + 1] = " HTTP/1.1\r\nHost: gslb.example.test\r\nX-Forwarded-For: " .. ip .. "\r\n\r\n"
  end
  prefix = "GET " .. unique_prefix .. "/" .. tostring(thread_number or 1) .. "/"
end

local function fixed()
  next_index = next_index % #prepared + 1
  return prepared[next_index]
end

local function unique()
  next_index = next_index % #tails + 1
  counter = counter + 1
  return prefix .. counter .. tails[next_index]
end

request = unique_prefix ~= "" and unique or fixed

function done(summary, latency, requests)
  local seconds = summary.duration / 1000000
  local errors = summary.errors
  print(string.format("RESULT rps=%.0f requests=%d secs=%.2f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f"
      .. " err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d",
    summary.requests / seconds, summary.requests, seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
