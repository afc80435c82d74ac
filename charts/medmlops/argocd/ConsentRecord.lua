-- Argo CD health check for medmlops.io/ConsentRecord (resource.customizations.health.medmlops.io_ConsentRecord).
-- Enforced=True is Healthy; Enforced=False is Degraded (a patient's objection is not yet honoured everywhere);
-- no condition yet is Progressing.
local hs = {}
local enforced = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Enforced" then enforced = c end
  end
end
local generation = obj.metadata.generation
local observed = nil
if obj.status ~= nil then observed = obj.status.observedGeneration end
if enforced == nil or (generation ~= nil and observed ~= nil and observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the consent to be enforced"
elseif enforced.status == "True" then
  hs.status = "Healthy"
  hs.message = enforced.message or "Enforced"
else
  hs.status = "Degraded"
  hs.message = enforced.message or enforced.reason or "Not enforced"
end
return hs
