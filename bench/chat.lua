-- wrk script for bench/run.sh: one small, non-streamed OpenAI chat completion,
-- the same request for every setup (direct backend, llmgw, nginx, HAProxy).
--
-- With BENCH_API_KEY set and not empty in wrk's environment (run.sh sets it for the
-- llmgw+limits and llmgw+redis setups only), every request also carries
-- `Authorization: Bearer <key>`. The key comes from the environment, not from wrk's
-- command line, so it never shows in the process list.
--
-- It also
--   * counts responses whose status is not 2xx (wrk's own counter only sees >= 400),
--   * prints one machine-readable line at the end, so run.sh does not have to parse
--     wrk's human output (whose units change between us, ms and s):
--       BENCH requests=N duration_us=N rps=X p50_us=N p90_us=N p99_us=N non2xx=N
--             connect_errors=N read_errors=N write_errors=N timeouts=N status_errors=N

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"fake-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'

local api_key = os.getenv("BENCH_API_KEY")
if api_key and api_key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. api_key
end

-- Each wrk thread runs in its own Lua state: keep the threads to read their
-- counters in done(), which runs in the main state.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

-- Defining response() makes wrk hand every response to Lua, which costs the load
-- generator some CPU; the same cost applies to every setup, and without it a 3xx
-- or 1xx answer would go unnoticed.
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx_total = 0
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
  end
  local seconds = summary.duration / 1e6
  local rps = 0
  if seconds > 0 then rps = summary.requests / seconds end
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.2f p50_us=%d p90_us=%d p99_us=%d non2xx=%d " ..
    "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d status_errors=%d\n",
    summary.requests, summary.duration, rps,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), non2xx_total,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
end
