-- POST /users with an address no other request uses (wrk, one Lua state per thread).
local counter = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  counter = counter + 1
  local body = string.format(
    '{"email": "load-%s-%d@example.com", "full_name": "Load Test"}', prefix, counter)
  return wrk.format(nil, "/users", nil, body)
end
