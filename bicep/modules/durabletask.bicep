// Azure Durable Task Scheduler with one task hub: the checkout saga's second engine
// (CHECKOUT_SAGA_ENGINE=durabletask, README "Saga engines"), created only when main.bicep's
// `sagaEngine` is 'durabletask'. The apps' identity is "Durable Task Data Contributor" on
// the scheduler (start, query, terminate orchestrations and run the worker); no keys exist.
param location string
param prefix string
param identityPrincipalId string
@description('Task hub of the checkout saga (CHECKOUT_DURABLETASK_TASKHUB).')
param taskHubName string = 'checkout'
@allowed(['Consumption', 'Dedicated'])
param skuName string = 'Consumption'
@description('Addresses allowed to reach the scheduler; an empty list denies everyone. Container Apps on Consumption have no fixed egress address, hence open by default (Entra ID still required).')
param ipAllowlist array = ['0.0.0.0/0']

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: '${prefix}-dts-${uniqueString(resourceGroup().id)}'
  location: location
  properties: {
    ipAllowlist: ipAllowlist
    sku: skuName == 'Dedicated' ? { name: skuName, capacity: 1 } : { name: skuName }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

// Durable Task Data Contributor.
var dataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource appsUse 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: scheduler
  name: guid(scheduler.id, identityPrincipalId, dataContributor)
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataContributor)
  }
}

output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
output schedulerName string = scheduler.name

// Finished orchestrations are purged after 30 days, failed ones kept 90 for inspection.
resource retention 'Microsoft.DurableTask/schedulers/retentionPolicies@2025-11-01' = {
  parent: scheduler
  name: 'default'
  properties: {
    retentionPolicies: [
      { retentionPeriodInDays: 30 }
      { retentionPeriodInDays: 90, orchestrationState: 'Failed' }
    ]
  }
}

output dashboardUrl string = taskHub.properties.dashboardUrl
