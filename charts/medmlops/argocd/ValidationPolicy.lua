-- Argo CD health check for medmlops.io/ValidationPolicy (resource.customizations.health.medmlops.io_ValidationPolicy).
-- A breach of the acceptance criteria or detected drift is Degraded (the model's clinical performance is in
-- doubt); too little ground truth yet is Progressing; Ready is Healthy.
local hs = {}
local function condition(t)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == t then return c end
    end
  end
  return nil
end
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the first evaluation"
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
for _, t in ipairs({ "Breached", "DriftDetected" }) do
  local c = condition(t)
  if c ~= nil and c.status == "True" then
    hs.status = "Degraded"
    hs.message = t .. ": " .. (c.message or c.reason or "")
    return hs
  end
end
local insufficient = condition("InsufficientData")
if insufficient ~= nil and insufficient.status == "True" then
  hs.status = "Progressing"
  hs.message = insufficient.message or "Not enough cases with ground truth yet"
  return hs
end
local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Within acceptance criteria"
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = ready.message or ready.reason or "Not ready"
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
return hs
