-- GET /entities/{id} of a random stored entity. Arguments: count of stored entities.
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local count

setup = common.setup
done = common.done

function init(args)
  count = tonumber(args[1] or "10000")
  common.seed()
end

function request()
  return wrk.format("GET", common.api .. "/entities/" .. common.stored_id(count))
end
