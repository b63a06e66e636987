-- One signal per request, each with its own Idempotency-Key and natural key.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] .. "-" .. tid .. "-"
  auth = args[2]
end

request = function()
  counter = counter + 1
  local id = prefix .. counter
  local body = '{"source_system":"bench","external_id":"' .. id .. '","kind":"klacht","channel":"email",' ..
    '"themes":["bejegening"],"severity":"middel","received_date":"2026-02-02","provider_agb":"12345678",' ..
    '"location":"Fokus Utrecht","zorgkantoor_code":"5521","reporter_role":"client",' ..
    '"client_reference":"CL-' .. id .. '","summary":"Assistentie kwam niet op tijd; afspraak om 08:00 gemist."}'
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. auth
  headers["Idempotency-Key"] = id
  return wrk.format("POST", "/v1/signals", headers, body)
end
