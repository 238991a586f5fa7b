-- cycle.lua: every request carries a different value from a file, used once each; bench.py
-- writes more values than a run can consume. Used for the first login (one pre-minted Google ID
-- token per new Google account), where re-sending a token would measure the re-login instead.
--
--   wrk ... URL -- VALUES_FILE THREADS FIELD
-- sends POST {"FIELD":"<value>"}. Should the file run out, values are reused from the start
-- and counted as `wrapped` (bench.py flags such a run).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local common = require("common")

counters = {sent = 0, wrapped = 0}
local values, next_index, field = {}, 1, "id_token"
local headers = {["Content-Type"] = "application/json"}

setup = common.setup

function init(args)
    local step = tonumber(args[2] or "1")
    field = args[3] or field
    values = common.read_lines(args[1], thread_index or 1, step)
    assert(#values > 0, "cycle.lua: no values for this thread in " .. args[1])
end

function request()
    if next_index > #values then
        next_index = 1
        counters.wrapped = counters.wrapped + #values
    end
    local value = values[next_index]
    next_index = next_index + 1
    counters.sent = counters.sent + 1
    return wrk.format("POST", nil, headers, '{"' .. field .. '":"' .. value .. '"}')
end

function done(summary, latency, requests)
    common.report(summary, latency, requests)
end
