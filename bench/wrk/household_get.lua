-- wrk script of bench/http_load.py: GET one household by id.
--   wrk ... -s bench/wrk/household_get.lua URL -- DATA.lua service|bare
-- DATA.lua (written by http_load.py) returns {cadres = {{token = "...", ids = {...}}, ...}}.
-- service: GET /api/v1/households/{id} with a cadre's bearer token, for a household of that cadre's
--          village; the cadre changes on every request (round robin over the cadres; wrk's Lua has no
--          per-connection hook), so every answer should be 200 and the region scoping is exercised.
-- bare:    GET /households/{id} of bench/bare_app.py, the same ids, no token.
-- Answers other than 200 are counted (and the first one kept); done() prints one line
-- "HTTPLOAD {json}" that http_load.py reads.

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  local data = dofile(args[1])
  mode = args[2]
  nthreads = tonumber(args[3])
  cadres = data.cadres
  made = 0
  unexpected = 0
  first_unexpected = ""
  auth_headers = {}
  for i, cadre in ipairs(cadres) do
    auth_headers[i] = {["Authorization"] = "Bearer " .. cadre.token}
  end
end

function request()
  local s = thread_no + made * nthreads
  made = made + 1
  local k = (s % #cadres) + 1
  local ids = cadres[k].ids
  local id = ids[(math.floor(s / #cadres) % #ids) + 1]
  if mode == "bare" then
    return wrk.format("GET", "/households/" .. id)
  end
  return wrk.format("GET", "/api/v1/households/" .. id, auth_headers[k])
end

function response(status, headers, body)
  if status ~= 200 then
    unexpected = unexpected + 1
    if first_unexpected == "" then
      first_unexpected = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

local function quote(text)
  return '"' .. string.gsub(text, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local bad, sent, max_made, first = 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
    local m = thread:get("made")
    sent = sent + m
    if m > max_made then max_made = m end
    if first == "" then first = thread:get("first_unexpected") end
  end
  local e = summary.errors
  io.write(string.format(
    'HTTPLOAD {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "unexpected": %d, "first_unexpected": %s, "sent": %d, "max_made": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, "status_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, bad, quote(first), sent, max_made,
    e.connect, e.read, e.write, e.timeout, e.status))
end
