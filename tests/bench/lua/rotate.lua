-- rotate.lua: refresh-token rotation where every request presents a token that is still its
-- session's current one, as a real client does, so each request does a real rotation (not the
-- grace path of api.html#sessions, which re-presenting one token would measure).
--
--   wrk ... URL -- TOKENS_FILE THREADS
-- TOKENS_FILE holds one refresh token per line, each the current token of a distinct login
-- session. Each thread keeps a queue of its share: a request takes the token at the head, its
-- 200 answer's new "refresh" goes to the tail. With many more sessions than connections, each
-- session is rotated once every <pool size> requests and no token is ever presented twice.
-- At the end the queue (every session's current token) is written back to TOKENS_FILE for the
-- next run; sessions whose request was in flight when wrk stopped are lost (bench.py tops the
-- pool up). A non-200 answer also loses its session (counted as `lost`); an empty queue would
-- force re-sending a used token, counted as `starved` (bench.py flags such a run).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local common = require("common")

counters = {sent = 0, rotated = 0, lost = 0, starved = 0}
queue, head, tail = {}, 1, 0
tokens_file = nil
local last = nil
local headers = {["Content-Type"] = "application/json"}

setup = common.setup

function init(args)
    tokens_file = args[1]
    local step = tonumber(args[2] or "1")
    for _, t in ipairs(common.read_lines(args[1], thread_index or 1, step)) do
        tail = tail + 1
        queue[tail] = t
    end
    assert(tail > 0, "rotate.lua: no tokens for this thread in " .. args[1])
end

function request()
    local token
    if head <= tail then
        token = queue[head]
        queue[head] = nil
        head = head + 1
        last = token
    else
        token = last
        counters.starved = counters.starved + 1
    end
    counters.sent = counters.sent + 1
    return wrk.format("POST", nil, headers, '{"refresh":"' .. token .. '"}')
end

function response(status, hdrs, body)
    local successor = status == 200 and body:match('"refresh":"([^"]+)"')
    if successor then
        tail = tail + 1
        queue[tail] = successor
        counters.rotated = counters.rotated + 1
    else
        counters.lost = counters.lost + 1
    end
end

function done(summary, latency, requests)
    local remaining, path = 0, nil
    local lines = {}
    for _, thread in ipairs(common.threads) do
        path = path or thread:get("tokens_file")
        local q, h, t = thread:get("queue"), thread:get("head"), thread:get("tail")
        for i = h, t do
            if q[i] then
                lines[#lines + 1] = q[i]
                remaining = remaining + 1
            end
        end
    end
    local f = assert(io.open(path, "w"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    common.report(summary, latency, requests, {pool_left = remaining})
end
