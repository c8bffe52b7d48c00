-- GET /entities?type=OffStreetParking&q=availableSpotNumber>N&limit=20, N random (each page is full: the
-- stored entities have availableSpotNumber n % 200 and N < 180).
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

setup = common.setup
done = common.done

function init(args)
  common.seed()
end

function request()
  return wrk.format("GET", string.format("%s/entities?type=OffStreetParking&q=availableSpotNumber%%3E%d&limit=20",
                                         common.api, math.random(0, 179)))
end
