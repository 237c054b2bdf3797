-- wrk script: GET /api/v1/locate at random points over the generated city's
-- districts (福田, 罗湖, 南山 at 1M households). Usage:
--   wrk -t2 -c32 -d30s -s scripts/locate.lua http://127.0.0.1:18004
math.randomseed(1)
request = function()
  local lon = 113.90 + math.random() * 0.25
  local lat = 22.50 + math.random() * 0.10
  return wrk.format("GET", string.format("/api/v1/locate?lon=%.6f&lat=%.6f", lon, lat))
end
