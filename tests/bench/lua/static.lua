-- static.lua: the same request again and again (wrk's fast path: the request is built once per
-- thread). Used for the floor, token-verify, user-me, posts and google-login of an existing user.
--
--   wrk ... URL -- METHOD BODY_FILE|- [HEADER_LINE ...]
-- e.g. -- POST /tmp/body.json "Content-Type: application/json"
--      -- GET - "Authorization: Bearer eyJ..."
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local common = require("common")

counters = {}

setup = common.setup

function init(args)
    wrk.method = args[1] or "GET"
    local body_file = args[2]
    if body_file and body_file ~= "-" then
        local f = assert(io.open(body_file, "r"))
        wrk.body = f:read("*a")
        f:close()
    end
    for i = 3, #args do
        local name, value = args[i]:match("^([^:]+):%s*(.*)$")
        if name then wrk.headers[name] = value end
    end
end

function done(summary, latency, requests)
    common.report(summary, latency, requests)
end
