-- server_query.lua - wrk script for bench/server_bench.sh: POST /v1/query with query bodies read
-- from a file (one JSON body per line), rotated; each wrk thread (at most 2) starts half the list
-- away from the other, so with more bodies than the server's query cache holds no thread hits an
-- entry the other just made.
-- Usage: wrk -t2 -c8 -d10s --latency -s bench/server_query.lua http://HOST:PORT -- BODIES_FILE
-- Non-2xx answers are counted by wrk ("Non-2xx or 3xx responses") and printed in done().
local bodies = {}
local idx = 0
local counter = 0
local threads = {}

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local path = args[1] or error("usage: ... -- BODIES_FILE")
   for line in io.lines(path) do
      if #line > 0 then bodies[#bodies + 1] = line end
   end
   if #bodies == 0 then error("no bodies in " .. path) end
   idx = ((tid or 0) * math.floor(#bodies / 2)) % #bodies -- two threads half a list apart
   wrk.method = "POST"
   wrk.path = "/v1/query"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   idx = idx % #bodies + 1
   return wrk.format(nil, nil, nil, bodies[idx])
end

function done(summary, latency, requests)
   io.write(string.format("lua: requests=%d errors connect=%d read=%d write=%d status=%d timeout=%d\n",
      summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.status, summary.errors.timeout))
end
