-- wrk script of bench/http_load.py: a village cadre's phone sending a batch of dated reports,
-- POST /api/v1/reports/batch.
--   wrk ... -s bench/wrk/report_batch.lua URL -- DATA.lua THREADS BASE TAG
-- DATA.lua (written by http_load.py) returns
--   {cadres = {{token = "...", ids = {...}}, ...}, months = {{"YYYY-MM-01", "YYYY-MM-DD"}, ...}, batch = N}
-- Request number s (unique across threads: BASE + thread + made × THREADS; http_load.py moves BASE past
-- every earlier run's requests) is the cadre's k-th batch, k = s // #cadres, for cadre s mod #cadres. Its
-- N reports are the cadre's report numbers n = k·N … k·N + N − 1, report n for household ids[n mod #ids]
-- over month months[n // #ids]: no two reports of a household share a period, and each has its own
-- client_ref, so every answer should be 201 (nothing is a duplicate, nothing overlaps). Months are
-- before the district's first report. Answers other than 201 are counted (and the first one kept).

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  local data = dofile(args[1])
  nthreads = tonumber(args[2])
  base = tonumber(args[3])
  tag = args[4]
  cadres = data.cadres
  months = data.months
  size = data.batch
  made = 0
  unexpected = 0
  exhausted = 0
  first_unexpected = ""
  auth_headers = {}
  for i, cadre in ipairs(cadres) do
    auth_headers[i] = {["Authorization"] = "Bearer " .. cadre.token, ["Content-Type"] = "application/json"}
  end
end

local ITEM = '{"household_id": %d, "client_ref": "%s-%d-%d", "period_start": "%s", "period_end": "%s", ' ..
  '"income": {"wages": "3012.50", "business": "2100", "property": "80.25", "transfer": "950", ' ..
  '"production_cost": "420.10"}, "spending": {"medical": "120", "education": "0"}, ' ..
  '"housing_grade": "A", "drinking_water_safe": true, "food_secure": true, "clothing_secure": true}'

function request()
  local s = base + thread_no + made * nthreads
  made = made + 1
  local c = (s % #cadres) + 1
  local k = math.floor(s / #cadres)
  local ids = cadres[c].ids
  local items = {}
  for j = 0, size - 1 do
    local n = k * size + j
    local p = math.floor(n / #ids)
    if p >= #months then
      exhausted = exhausted + 1
      p = p % #months
    end
    local month = months[p + 1]
    items[j + 1] = string.format(ITEM, ids[(n % #ids) + 1], tag, s, j, month[1], month[2])
  end
  return wrk.format("POST", "/api/v1/reports/batch", auth_headers[c],
    '{"reports": [' .. table.concat(items, ", ") .. ']}')
end

function response(status, headers, body)
  if status ~= 201 then
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
  local bad, sent, max_made, gone, first = 0, 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
    gone = gone + thread:get("exhausted")
    local m = thread:get("made")
    sent = sent + m
    if m > max_made then max_made = m end
    if first == "" then first = thread:get("first_unexpected") end
  end
  local e = summary.errors
  io.write(string.format(
    'HTTPLOAD {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "unexpected": %d, "first_unexpected": %s, "sent": %d, "max_made": %d, ' ..
    '"months_exhausted": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"timeouts": %d, "status_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, bad, quote(first), sent, max_made, gone,
    e.connect, e.read, e.write, e.timeout, e.status))
end
