-- Mixed read load: customer files, their contacts, phone-suffix searches.
local n = tonumber(os.getenv("N") or "1000000")
local token = os.getenv("TOKEN")
math.randomseed(7)
request = function()
  local r = math.random(100)
  local path
  if r <= 60 then
    path = "/api/v1/customers/" .. math.random(n)
  elseif r <= 90 then
    path = "/api/v1/customers/" .. math.random(n) .. "/contacts"
  else
    path = string.format("/api/v1/customers?q=%06d", math.random(n) % 1000000)
  end
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
