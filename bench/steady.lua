-- wrk script for bench/store_outage.sh: bench/chat.lua's request (and its BENCH summary
-- line) at a steady pace: each connection waits BENCH_DELAY_MS between requests, so the
-- load is a fixed, moderate rate rather than as fast as the proxy can go.
dofile(os.getenv("BENCH_DIR") .. "/chat.lua")

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "4")

function delay()
  return pause
end
