-- Shared by the scripts of bench/wrk: the entity bodies, ids, and the JSON line that bench/http.py reads.
local common = {}

common.api = "/ngsi-ld/v1"

-- The headers of wrk -H (a tenant...) with a JSON Content-Type: wrk.format takes given headers in place of
-- wrk.headers, not beside them.
local json_headers
function common.json_headers()
  if not json_headers then
    json_headers = {["Content-Type"] = "application/json"}
    for name, value in pairs(wrk.headers) do
      json_headers[name] = value
    end
  end
  return json_headers
end

-- An OffStreetParking entity like bench.entities.parking (about 1 KB normalized), with the given id.
function common.parking(id, number)
  return string.format(
    '{"id":"%s","type":"OffStreetParking","name":{"type":"Property","value":"Parking %d"},'
    .. '"availableSpotNumber":{"type":"Property","value":%d,"observedAt":"2026-11-27T08:00:00Z",'
    .. '"reliability":{"type":"Property","value":0.9}},"totalSpotNumber":{"type":"Property","value":200},'
    .. '"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[4.47,51.02]}},'
    .. '"street":{"type":"LanguageProperty","languageMap":{"nl":"Grote Markt","fr":"Grand Place"}},'
    .. '"category":{"type":"VocabProperty","vocab":["public","underground"]},'
    .. '"refParkingSite":{"type":"Relationship","object":"urn:ngsi-ld:ParkingSite:1"},'
    .. '"occupancy":{"type":"ListProperty","valueList":[1,2,3,4]},'
    .. '"extra":{"type":"JsonProperty","json":{"a":[1,2],"b":"c"}}}',
    id, number, number % 200)
end

-- The id of a stored entity (loaded by bench/http.py as bench.entities.parking(n), n < count).
function common.stored_id(count)
  return "urn:ngsi-ld:OffStreetParking:bench-" .. math.random(0, count - 1)
end

-- Each thread gets its number (setup runs in the main state before the threads start).
local threads = 0
function common.setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

-- A new id on every call, unique across threads, requests and runs (`run` tells runs apart).
local sent = 0
function common.new_id(run)
  sent = sent + 1
  return string.format("urn:ngsi-ld:OffStreetParking:wrk-%s-%d-%d", run, thread_number, sent), sent
end

function common.seed()
  math.randomseed(os.time() + (thread_number or 0) * 7919)
end

-- One line `WRK_JSON {...}` of the figures: durations and latencies in microseconds; non2xx counts the
-- answers of status 400 and above, as wrk does (the scripts never get a 3xx).
function common.done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"connect_errors":%d,"read_errors":%d,'
    .. '"write_errors":%d,"timeouts":%d,"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, errors.status, errors.connect, errors.read, errors.write,
    errors.timeout, latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end

return common
