// Key Vault behind the Dapr secret stores (secretstore, gateway-secrets, payments-secrets,
// identity-secrets, notifications-secrets, web-secrets: components/azure). RBAC
// authorization only (no access policies): the apps' identity reads secrets ("Key Vault
// Secrets User"); the deployer may write them ("Key Vault Secrets Officer", when
// `deployerPrincipalId` is given) so azure.yaml's postprovision hook can create the missing
// entries.
//
// Which secret exists how: bicep/secrets.json (one table, checked against the code by
// tests/unit/test_azure_resources.py). Only values the deployment itself knows ("deployment":
// SMTP host and port) are written here. Secrets to fill in or generate are NOT Bicep
// resources on purpose: a Bicep secret is written again on every `azd provision`, which would
// reset a real Stripe key to a placeholder each time, and a value passed as a parameter
// would have to live in the azd environment file. The postprovision hook creates each of them
// only if it is missing (random for "generated", 'placeholder-change-me' for "placeholder"),
// so nothing real is ever in git, in a template or in deployment history, and a redeploy
// never overwrites what an operator set.
param location string
param prefix string
param identityPrincipalId string
@description('Object id of who deploys (azd: AZURE_PRINCIPAL_ID); empty: no write role here.')
param deployerPrincipalId string = ''
@allowed(['User', 'ServicePrincipal', 'Group'])
param deployerPrincipalType string = 'User'

var table = items(loadJsonContent('../secrets.json').secrets)
var fromDeployment = filter(table, s => s.value.kind == 'deployment')

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // 3-24 characters, globally unique.
  name: take('${prefix}-kv-${uniqueString(resourceGroup().id)}', 24)
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // Purge protection stays off so `azd down --purge` can remove the vault at once; turn it
    // on for production (it cannot be turned off again).
    publicNetworkAccess: 'Enabled'
  }
}

// Built-in role definitions.
var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource appsRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, identityPrincipalId, secretsUser)
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
  }
}

resource deployerWrite 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  scope: vault
  name: guid(vault.id, deployerPrincipalId, secretsOfficer)
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficer)
  }
}

resource deploymentSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for s in fromDeployment: {
  parent: vault
  name: s.key
  properties: { value: s.value.value, contentType: 'text/plain' }
}]

output name string = vault.name
output uri string = vault.properties.vaultUri
// For the postprovision hook (space-separated names).
output generatedSecrets string = join(map(filter(table, s => s.value.kind == 'generated'), s => s.key), ' ')
output placeholderSecrets string = join(map(filter(table, s => s.value.kind == 'placeholder'), s => s.key), ' ')
