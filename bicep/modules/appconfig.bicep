// Azure App Configuration: the runtime settings and feature flags the apps read through the
// Dapr Configuration API (component `runtime-config`, configuration.azure.appconfig). The
// apps' identity reads them ("App Configuration Data Reader"); backoffice writes them (the
// admin API, `PUT /admin/config/{key}`), which takes "App Configuration Data Owner". The
// apps share one identity here, so it holds both roles (see README "Runtime settings").
// No access keys: local authentication is disabled, Entra ID only.
param location string
param prefix string
param identityPrincipalId string

resource store 'Microsoft.AppConfiguration/configurationStores@2023-03-01' = {
  name: '${prefix}-config-${uniqueString(resourceGroup().id)}'
  location: location
  sku: { name: 'standard' }
  properties: {
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

// App Configuration Data Reader, App Configuration Data Owner.
var roles = ['516239f1-63e1-4d78-a4de-a74fb236a071', '5ae67dd6-50cb-40e7-96ff-dc2bfa4b606b']
resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in roles: {
  scope: store
  name: guid(store.id, identityPrincipalId, role)
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

output endpoint string = store.properties.endpoint
output name string = store.name
