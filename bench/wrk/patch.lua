-- PATCH /entities/{id}/attrs/availableSpotNumber of a random stored entity. Arguments: count of stored entities.
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local count

setup = common.setup
done = common.done

function init(args)
  count = tonumber(args[1] or "10000")
  common.seed()
end

function request()
  local body = string.format('{"type":"Property","value":%d}', math.random(0, 199))
  return wrk.format("PATCH", common.api .. "/entities/" .. common.stored_id(count) .. "/attrs/availableSpotNumber",
                    common.json_headers(), body)
end
