-- POST /entities of a new OffStreetParking per request. Arguments: run (a tag that keeps ids unique across runs).
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local run

setup = common.setup
done = common.done

function init(args)
  run = args[1] or tostring(os.time())
end

function request()
  local id, number = common.new_id(run)
  return wrk.format("POST", common.api .. "/entities", common.json_headers(), common.parking(id, number))
end
