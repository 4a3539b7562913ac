// What the operations API (backoffice, BACKOFFICE_OPS_PLATFORM=azure) needs of Azure: read
// the environment's Log Analytics workspace (recent log lines per app and sidecar) and
// restart a container app's revision (Container Apps management API), with the apps'
// managed identity. The apps share one identity, so every app holds these two roles; only
// backoffice's code uses them (see README "Operations API").
param workspaceName string
param identityPrincipalId string

// Built-in role definitions.
var logAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'
var containerAppsContributor = '358470bc-b998-42bd-ab17-a7e34c199c0f'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource readLogs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, identityPrincipalId, logAnalyticsReader)
  scope: workspace
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReader)
  }
}

// The resource group of the container apps: restart a revision (and read the app).
resource restartApps 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, identityPrincipalId, containerAppsContributor)
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', containerAppsContributor)
  }
}
