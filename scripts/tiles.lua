-- wrk script: GET the tile paths listed in the file TILES (one per line, as
-- `tilebench -list` prints them), round robin from where each thread starts,
-- accepting gzip, with the API token TOKEN (if set) as Authorization: Bearer.
-- Usage:
--   tilebench -url http://127.0.0.1:8080 -token "$TOKEN" -list -layers admin -minzoom 10 -maxzoom 10 > /tmp/z10.txt
--   TOKEN=ogt_… TILES=/tmp/z10.txt wrk -t2 -c2 -d10s --latency -s scripts/tiles.lua http://127.0.0.1:8080
local paths = {}
for line in io.lines(os.getenv("TILES")) do
  paths[#paths + 1] = line
end
local headers = {["Accept-Encoding"] = "gzip"}
local token = os.getenv("TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
local counter = 0
setup = function(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end
local i = 0
request = function()
  i = i + 1
  local p = paths[((offset or 0) + i) % #paths + 1]
  return wrk.format("GET", p, headers)
end
