-- GET <path>?<key>[gt]=<random>&limit=N: a keyset page of N rows starting at a
-- pseudo-random place in the table (legacy-bridge's answer to the anchors'
-- list_random.lua, which asks sandman2 for ?page=<random>&limit=N).
-- env: WRK_PATH (default /v1/customers), WRK_KEY (default id),
--      WRK_MAX_KEY (default 1000000), WRK_LIMIT (default 100),
--      WRK_EXTRA (more query parameters, e.g. "&embed=orders"; default none),
--      ANCHORS_WRK (the anchors' wrk/ folder, for their report.lua)
package.path = package.path .. ";" .. (os.getenv("ANCHORS_WRK") or "/work/shared/anchors/bench/wrk") .. "/?.lua"
local report = require("report")
local base = os.getenv("WRK_PATH") or "/v1/customers"
local key = os.getenv("WRK_KEY") or "id"
local max_key = tonumber(os.getenv("WRK_MAX_KEY") or "1000000")
local limit = tonumber(os.getenv("WRK_LIMIT") or "100")
local extra = os.getenv("WRK_EXTRA") or ""
setup = report.setup
done = report.done
function init(args) report.seed() end
function request()
  -- the largest start still leaves a full page: keys are 1..max_key
  local after = math.random(0, max_key - limit)
  return wrk.format("GET", base .. "?" .. key .. "[gt]=" .. after .. "&limit=" .. limit .. extra)
end
