-- Argo CD health check for rtcd.mattermost.com/MattermostRTCD.
-- Install it in argocd-cm (see operator/config/argocd/README.md). Reads only
-- what the operator writes: status.observedGeneration and the Ready and
-- Degraded conditions. Uses no library beyond Lua's base (Argo CD opens few).
local hs = {}

local function condition(type)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local generation = obj.metadata.generation
local observed = obj.status ~= nil and obj.status.observedGeneration or nil
if observed == nil or (generation ~= nil and observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to act on the latest spec"
  return hs
end

local ready = condition("Ready")
local degraded = condition("Degraded")
if ready ~= nil and ready.reason == "Paused" then
  hs.status = "Suspended"
  hs.message = ready.message or "spec.paused is true"
  return hs
end
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = (degraded.reason or "Degraded") .. ": " .. (degraded.message or "")
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
hs.status = "Progressing"
if ready ~= nil and ready.message ~= nil then
  hs.message = ready.message
else
  hs.message = "Waiting for the Ready condition"
end
return hs
