-- wrk script: POST a JPEG to the ingest endpoint, each request a distinct frame (a unique JPEG
-- comment segment after the start-of-image marker) from one of BENCH_TOKENS' cameras, counting
-- 201s per thread.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(os.getenv("BENCH_FRAME"), "rb"))
  jpeg = file:read("*all")
  file:close()
  counter = 0
  created = 0
  other = 0
  tokens = {}
  for token in string.gmatch(os.getenv("BENCH_TOKENS"), "[^,]+") do table.insert(tokens, token) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "image/jpeg"
end

function request()
  counter = counter + 1
  local tag = string.format("vigil-bench %d %d", id, counter)
  local length = #tag + 2
  local comment = "\255\254" .. string.char(math.floor(length / 256), length % 256) .. tag
  -- Requests go round the cameras, as many cameras each sending their own frames would.
  local headers = { ["Content-Type"] = "image/jpeg", ["X-Device-Token"] = tokens[(counter + id) % #tokens + 1] }
  return wrk.format(nil, nil, headers, jpeg:sub(1, 2) .. comment .. jpeg:sub(3))
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local total_created, total_other = 0, 0
  for _, thread in ipairs(threads) do
    total_created = total_created + thread:get("created")
    total_other = total_other + thread:get("other")
  end
  io.write(string.format("created %d\nother %d\n", total_created, total_other))
  io.write(string.format("p50_ms %.2f\np99_ms %.2f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
