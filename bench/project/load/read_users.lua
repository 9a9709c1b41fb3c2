-- GET /users/{id}: ids FIRST_ID, FIRST_ID+1, ... (wrapping after ID_COUNT), so a run over
-- more ids than requests reads each once (a cold cache); over a few, each many times (warm).
local first = tonumber(os.getenv("FIRST_ID"))
local count = tonumber(os.getenv("ID_COUNT"))
local next_id = 0

request = function()
  local id = first + (next_id % count)
  next_id = next_id + 1
  return wrk.format("GET", "/users/" .. id)
end
