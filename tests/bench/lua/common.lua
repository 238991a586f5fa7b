-- common.lua: shared by the benchmark's wrk scripts (tests/bench/bench.py drives them).
--
-- wrk runs one Lua state per thread plus a main state. The scripts keep their counters in a
-- global table `counters` in each thread state; done() (main state) adds them up and prints
-- one line "BENCH_JSON {...}" with wrk's summary, the latency percentiles in microseconds and
-- those counters, which bench.py parses instead of wrk's human-readable text.
local M = {}

M.threads = {}
local nthreads = 0

-- Remember every thread (main state) and give each one its 1-based index.
function M.setup(thread)
    nthreads = nthreads + 1
    thread:set("thread_index", nthreads)
    table.insert(M.threads, thread)
end

-- Lines of a file as a list, every `step`-th line starting at `first` (1-based), so that
-- threads share one file without sharing lines.
function M.read_lines(path, first, step)
    local f = assert(io.open(path, "r"))
    local lines, n = {}, 0
    for line in f:lines() do
        n = n + 1
        if line ~= "" and (n - first) % step == 0 then
            lines[#lines + 1] = line
        end
    end
    f:close()
    return lines
end

local function encode(v)
    local t = type(v)
    if t == "number" then
        if v ~= v or v == math.huge or v == -math.huge then return "null" end
        return string.format("%.17g", v)
    elseif t == "string" then
        return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
    elseif t == "boolean" then
        return tostring(v)
    elseif t == "table" then
        local parts = {}
        for k, val in pairs(v) do
            parts[#parts + 1] = encode(tostring(k)) .. ":" .. encode(val)
        end
        return "{" .. table.concat(parts, ",") .. "}"
    end
    return "null"
end
M.encode = encode

-- Sum of every thread's `counters` table.
function M.counters()
    local total = {}
    for _, thread in ipairs(M.threads) do
        local c = thread:get("counters")
        if type(c) == "table" then
            for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
        end
    end
    return total
end

-- wrk's done(): print the machine-readable summary. `extra` is merged into the object.
function M.report(summary, latency, requests, extra)
    local pct = {}
    for _, p in ipairs({50, 75, 90, 99, 99.9}) do
        pct[tostring(p)] = latency:percentile(p)
    end
    -- Requests slower than 900 ms (mod_fcgid's one-second stall): the share of the latency
    -- distribution at or above it, found by bisecting percentiles.
    local slow = 0
    if latency.max >= 900000 then
        local lo, hi = 0, 100
        for _ = 1, 40 do
            local mid = (lo + hi) / 2
            if latency:percentile(mid) >= 900000 then hi = mid else lo = mid end
        end
        slow = math.floor((100 - hi) / 100 * summary.requests + 0.5)
        if slow < 1 then slow = 1 end
    end
    local out = {
        requests = summary.requests,
        duration_us = summary.duration,
        bytes = summary.bytes,
        errors = summary.errors,
        latency_us = {percentiles = pct, mean = latency.mean, max = latency.max,
                      stdev = latency.stdev},
        slow_900ms = slow,
        counters = M.counters(),
    }
    for k, v in pairs(extra or {}) do out[k] = v end
    io.write("BENCH_JSON ", encode(out), "\n")
end

-- Make the calling script's directory findable by require().
return M
