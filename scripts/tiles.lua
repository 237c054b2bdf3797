-- wrk script: GET the tile paths listed in the file TILES (one per line, as
-- `tilebench -list` prints them), round robin from where each thread starts,
-- accepting gzip. Usage:
--   tilebench -url http://127.0.0.1:8080 -list -layers admin -minzoom 10 -maxzoom 10 > /tmp/z10.txt
--   TILES=/tmp/z10.txt wrk -t2 -c2 -d10s --latency -s scripts/tiles.lua http://127.0.0.1:8080
local paths = {}
for line in io.lines(os.getenv("TILES")) do
  paths[#paths + 1] = line
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
  return wrk.format("GET", p, {["Accept-Encoding"] = "gzip"})
end
