// Azure Container Registry for the one SmartCommerce image (Dockerfile: every app runs it,
// the Container App's command picks the app). No admin user, no anonymous pull: the apps
// pull with their user-assigned identity (AcrPull), the deployer pushes with Entra ID
// (azd / az acr build, AcrPush when `deployerPrincipalId` is given).
param location string
param prefix string
param identityPrincipalId string
@description('Object id of who deploys (azd: AZURE_PRINCIPAL_ID); empty: no push role here.')
param deployerPrincipalId string = ''
@allowed(['User', 'ServicePrincipal', 'Group'])
param deployerPrincipalType string = 'User'
@allowed(['Basic', 'Standard', 'Premium'])
param sku string = 'Basic'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // 5-50 alphanumerics, globally unique.
  name: take('${replace(prefix, '-', '')}acr${uniqueString(resourceGroup().id)}', 50)
  location: location
  sku: { name: sku }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

// Built-in role definitions.
var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'
var acrPush = '8311e382-0749-4cb8-b61a-304f252e45ec'

resource appsPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, identityPrincipalId, acrPull)
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
  }
}

resource deployerPush 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  scope: registry
  name: guid(registry.id, deployerPrincipalId, acrPush)
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPush)
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
