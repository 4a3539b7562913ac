// Azure Database for PostgreSQL Flexible Server: the Dapr state store (documents, actor
// state, workflow state), identitystore and ratelimit (components/azure/*.yaml, same
// database and tables as locally). Microsoft Entra ID authentication only: no password
// exists. The apps' user-assigned identity is an Entra administrator of the server, and
// the components sign in as that identity (`useAzureAD`, user = the identity's name) with
// tokens from the managed identity endpoint.
//
// Network: public endpoint, reachable from Azure only ("allow Azure services", 0.0.0.0) plus
// optional client ranges. Container Apps on the Consumption profile have no fixed egress
// address, so a narrower firewall is not possible without a VNet. Entra-only sign-in is the
// gate: a connection from anywhere in Azure still needs a token of an administrator or
// granted role. Hardening step (not default: it needs a VNet-integrated environment, private
// DNS and a delegated subnet, ~USD 0 extra but a bigger template): VNet integration of the
// server (`network.delegatedSubnetResourceId`) or a private endpoint.
param location string
param prefix string
param identityPrincipalId string
param identityName string
@description('Compute size. B1ms (1 vCore, 2 GiB) allows 50 connections, ~35 for clients: less than 14 sidecars with pools need. B2s (2 vCores, 4 GiB) allows ~400.')
@allowed(['Standard_B1ms', 'Standard_B2s', 'Standard_B2ms', 'Standard_D2ds_v5', 'Standard_D4ds_v5'])
param skuName string = 'Standard_B2s'
param storageSizeGB int = 32
@description('Extra client address ranges allowed in (e.g. an operator\'s IP): [{name, startIpAddress, endIpAddress}].')
param clientIpRanges array = []

var tier = startsWith(skuName, 'Standard_B') ? 'Burstable' : 'GeneralPurpose'
// The one database every PostgreSQL component uses (dbname in dapr-components.bicep).
var databaseName = 'smartcommerce'

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: toLower('${prefix}-pg-${uniqueString(resourceGroup().id)}')
  location: location
  sku: { name: skuName, tier: tier }
  properties: {
    version: '16'
    createMode: 'Default'
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenant().tenantId
    }
    storage: { storageSizeGB: storageSizeGB, autoGrow: 'Enabled' }
    backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' }
    highAvailability: { mode: 'Disabled' }
    network: { publicNetworkAccess: 'Enabled' }
  }
}

// The server takes one change at a time (parallel updates fail with ServerIsBusy), hence
// the chain: firewall -> administrator -> database -> parameters (one by one).
resource allowAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

@batchSize(1)
resource clients 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = [for r in clientIpRanges: {
  parent: server
  name: r.name
  properties: { startIpAddress: r.startIpAddress, endIpAddress: r.endIpAddress }
  dependsOn: [allowAzure]
}]

// The apps' identity as Entra administrator: the resource name is its object id, and the
// role it gets in PostgreSQL is `principalName`, the user of the components' connection.
resource appsAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: identityPrincipalId
  properties: {
    principalType: 'ServicePrincipal'
    principalName: identityName
    tenantId: tenant().tenantId
  }
  dependsOn: [allowAzure, clients]
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  properties: { charset: 'UTF8', collation: 'en_US.utf8' }
  dependsOn: [appsAdmin]
}

// The actor and workflow tables (dapr_state) take many small upserts and deletes per saga
// step: vacuum and analyze them sooner than the 20 % / 10 % defaults so dead rows and plans
// do not pile up; end transactions left idle by a killed sidecar (they hold row locks an
// actor waits on) after a minute; log statements slower than a second.
var parameters = [
  { name: 'autovacuum_vacuum_scale_factor', value: '0.05' }
  { name: 'autovacuum_analyze_scale_factor', value: '0.02' }
  { name: 'idle_in_transaction_session_timeout', value: '60000' }
  { name: 'log_min_duration_statement', value: '1000' }
]

@batchSize(1)
resource serverParameters 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = [for p in parameters: {
  parent: server
  name: p.name
  properties: { value: p.value, source: 'user-override' }
  dependsOn: [database]
}]

output host string = server.properties.fullyQualifiedDomainName
output serverName string = server.name
output databaseName string = databaseName
