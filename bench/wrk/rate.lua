-- creates.lua at a fixed total rate. Arguments: run, requests per second (all threads), connections.
-- Each connection waits a random time around connections/rate before each request, so that the connections
-- do not fire together.
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local run, mean_delay_ms

setup = common.setup
done = common.done

function init(args)
  run = args[1] or tostring(os.time())
  local rate, connections = tonumber(args[2] or "100"), tonumber(args[3] or "1")
  mean_delay_ms = connections * 1000 / rate
  common.seed()
end

function delay()
  return math.floor(mean_delay_ms * (0.5 + math.random()))
end

function request()
  local id, number = common.new_id(run)
  return wrk.format("POST", common.api .. "/entities", common.json_headers(), common.parking(id, number))
end
