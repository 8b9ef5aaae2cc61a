-- The study loop for wrk: each wrk thread drives one connection as one learner, with the
-- learner's own session cookie and CSRF token (one "sessionid csrftoken" line per learner in
-- the file named by BENCH_SESSIONS). Each loop is three requests, as the page sends them with
-- htmx: GET /study/ (the next card), POST the answer or GET the reveal (a flashcard), POST the
-- grade. Multiple choice and true/false pick an option at random, typed answers are wrong
-- ("not sure"), and the grade is the button the page focuses (Good when right, Again when
-- wrong). At the end one line "BENCH_JSON {...}" carries the counts and latencies.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1e6 + tonumber(clock.tv_nsec) / 1e3
end

local PHASES = { "study", "answer", "reveal", "grade" }

-- Main state: hand each thread a learner.
local threads = {}
local sessions = {}

function setup(thread)
  if #sessions == 0 then
    for line in io.lines(os.getenv("BENCH_SESSIONS")) do
      if line:match("%S") then table.insert(sessions, line) end
    end
  end
  local n = #threads + 1
  local session, csrf = sessions[(n - 1) % #sessions + 1]:match("(%S+)%s+(%S+)")
  thread:set("session", session)
  thread:set("csrf", csrf)
  thread:set("number", n)
  table.insert(threads, thread)
end

-- Thread state: one learner.
local phase, card, token, shown_at, reply, rating, sent_at
local get_headers, post_headers, latencies

function init(args)
  local cookie = (os.getenv("BENCH_SESSION_COOKIE") or "sessionid") .. "=" .. session .. "; "
      .. (os.getenv("BENCH_CSRF_COOKIE") or "csrftoken") .. "=" .. csrf
  get_headers = { ["Cookie"] = cookie, ["HX-Request"] = "true" }
  post_headers = {
    ["Cookie"] = cookie,
    ["HX-Request"] = "true",
    ["X-CSRFToken"] = csrf,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  -- Flat tables only: wrk's thread:get cannot copy nested ones. Latencies in microseconds.
  counts = { loops = 0, done = 0, errors = 0 }
  statuses = {}
  latencies = {}
  for _, p in ipairs(PHASES) do
    counts[p] = 0
    latencies[p] = {}
    _G["latency_" .. p] = latencies[p]
  end
  math.randomseed(number)
  phase = "study"
end

function request()
  sent_at = now_us()
  if phase == "study" then
    return wrk.format("GET", "/study/", get_headers)
  end
  local fields = "token=" .. token .. "&shown_at=" .. shown_at .. "&deck=&source="
  if phase == "reveal" then
    return wrk.format("GET", "/card/" .. card .. "/reveal/?" .. fields, get_headers)
  elseif phase == "answer" then
    return wrk.format("POST", "/card/" .. card .. "/answer/", post_headers,
      fields .. "&response=" .. reply)
  end
  return wrk.format("POST", "/card/" .. card .. "/grade/", post_headers,
    fields .. "&response=" .. reply .. "&rating=" .. rating)
end

function response(status, headers, body)
  local elapsed = now_us() - sent_at
  if status ~= 200 then
    counts.errors = counts.errors + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
    phase = "study"
    return
  end
  counts[phase] = counts[phase] + 1
  local l = latencies[phase]
  l[#l + 1] = elapsed
  if phase == "study" then
    card = body:match('/card/(%d+)/')
    if not card then -- nothing due: the queue is empty
      counts.done = counts.done + 1
      return
    end
    token = body:match('name="token" value="([^"]+)"')
    shown_at = body:match('name="shown_at" value="([^"]*)"')
    if body:find("/reveal/", 1, true) then
      phase, reply = "reveal", ""
    else
      local options = {}
      for value in body:gmatch('name="response" value="([^"]+)"') do
        options[#options + 1] = value
      end
      reply = #options > 0 and options[math.random(#options)] or "not%20sure"
      phase = "answer"
    end
  elseif phase == "answer" or phase == "reveal" then
    rating = body:match('name="rating" value="(%d)"[^>]-autofocus')
        or body:match('name="rating" value="(%d)"') or "1"
    phase = "grade"
  else
    counts.loops = counts.loops + 1
    phase = "study"
  end
end

local function encode(value)
  local kind = type(value)
  if kind == "table" then
    local parts = {}
    if #value > 0 then
      for _, v in ipairs(value) do parts[#parts + 1] = encode(v) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    for k, v in pairs(value) do parts[#parts + 1] = string.format("%q:%s", tostring(k), encode(v)) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "number" then
    return string.format("%.3f", value)
  elseif kind == "string" then
    return string.format("%q", value)
  end
  return tostring(value)
end

local function percentile(values, q)
  if #values == 0 then return -1 end
  table.sort(values)
  local k = (#values - 1) * q
  local low = math.floor(k)
  local high = math.min(low + 1, #values - 1)
  return values[low + 1] + (values[high + 1] - values[low + 1]) * (k - low)
end

function done(summary, latency, requests)
  local totals = { loops = 0, done = 0, errors = 0 }
  local merged, statuses_all = {}, {}
  for _, p in ipairs(PHASES) do
    totals[p] = 0
    merged[p] = {}
  end
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for k, v in pairs(c) do totals[k] = (totals[k] or 0) + v end
    for _, p in ipairs(PHASES) do
      for _, v in ipairs(thread:get("latency_" .. p) or {}) do table.insert(merged[p], v) end
    end
    for k, v in pairs(thread:get("statuses") or {}) do statuses_all[k] = (statuses_all[k] or 0) + v end
  end
  local per_phase = {}
  for _, p in ipairs(PHASES) do
    per_phase[p] = {
      n = #merged[p],
      p50_ms = percentile(merged[p], 0.5) / 1000,
      p95_ms = percentile(merged[p], 0.95) / 1000,
    }
  end
  local out = {
    requests = summary.requests,
    duration_s = summary.duration / 1e6,
    errors = summary.errors,
    bad_status = statuses_all,
    counts = totals,
    latency = {
      p50_ms = latency:percentile(50) / 1000,
      p95_ms = latency:percentile(95) / 1000,
      p99_ms = latency:percentile(99) / 1000,
      max_ms = latency.max / 1000,
    },
    phases = per_phase,
  }
  io.write("BENCH_JSON " .. encode(out) .. "\n")
end
