-- POST /entityOperations/upsert of new OffStreetParking entities. Arguments: run, entities per batch.
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local run, size

setup = common.setup
done = common.done

function init(args)
  run = args[1] or tostring(os.time())
  size = tonumber(args[2] or "1000")
end

function request()
  local entities = {}
  for i = 1, size do
    local id, number = common.new_id(run)
    entities[i] = common.parking(id, number)
  end
  return wrk.format("POST", common.api .. "/entityOperations/upsert", common.json_headers(),
                    "[" .. table.concat(entities, ",") .. "]")
end
