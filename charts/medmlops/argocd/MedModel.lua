-- Argo CD health check for medmlops.io/MedModel (resource.customizations.health.medmlops.io_MedModel).
-- Reads the conditions the operator writes: Suspended (stop button) > FailedOver / Degraded > Progressing
-- (rollout, canary, scale-up) > Ready. A status older than the spec is Progressing.
local hs = {}
local function condition(t)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == t then return c end
    end
  end
  return nil
end
local function isTrue(t)
  local c = condition(t)
  return c ~= nil and c.status == "True", c
end
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local suspended, s = isTrue("Suspended")
if suspended then
  hs.status = "Suspended"
  hs.message = s.message or "Suspended: AI unavailable, refer to clinician"
  return hs
end
local failedOver, f = isTrue("FailedOver")
if failedOver then
  hs.status = "Degraded"
  hs.message = "Failed over: " .. (f.message or "")
  return hs
end
local degraded, d = isTrue("Degraded")
if degraded then
  hs.status = "Degraded"
  hs.message = d.message or d.reason or "Degraded"
  return hs
end
local progressing, p = isTrue("Progressing")
if progressing then
  hs.status = "Progressing"
  hs.message = p.message or p.reason or "Progressing"
  return hs
end
local ready, r = isTrue("Ready")
if ready then
  hs.status = "Healthy"
  hs.message = r.message or "Serving"
  return hs
end
if r ~= nil then
  hs.status = "Degraded"
  hs.message = r.message or r.reason or "Not ready"
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
return hs
