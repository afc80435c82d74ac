-- Argo CD health check for medmlops.io/RetrainJob (resource.customizations.health.medmlops.io_RetrainJob).
-- Its phase: running phases are Progressing, AwaitingApproval is Suspended (it waits for a person, as the FDA
-- change-control plan requires), Succeeded is Healthy, Failed and Rejected are Degraded.
local hs = {}
local phase = nil
if obj.status ~= nil then phase = obj.status.phase end
local message = nil
if obj.status ~= nil then message = obj.status.message end
if phase == nil or phase == "Pending" or phase == "PreparingData" or phase == "Training" or phase == "Evaluating" then
  hs.status = "Progressing"
  hs.message = message or (phase or "Waiting for the operator")
elseif phase == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = message or "Waiting for a person to approve the candidate"
elseif phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = message or "Candidate version produced"
elseif phase == "Failed" or phase == "Rejected" then
  hs.status = "Degraded"
  hs.message = phase .. ": " .. (message or "")
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(phase)
end
return hs
