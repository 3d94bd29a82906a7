-- The one URL given on wrk's command line (e.g. page 1, or page 10,000 by its cursor),
-- summarised by the anchors' report.lua.
-- env: ANCHORS_WRK (the anchors' wrk/ folder)
package.path = package.path .. ";" .. (os.getenv("ANCHORS_WRK") or "/work/shared/anchors/bench/wrk") .. "/?.lua"
local report = require("report")
setup = report.setup
done = report.done
