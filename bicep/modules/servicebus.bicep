// Service Bus topics for every pub/sub topic, one subscription per consuming app
// (subscription name = consumerID = app-id) with dead-lettering, and data-plane roles for
// the apps' identity.
param location string
param prefix string
param topics array
param subscriptions array
param identityPrincipalId string

resource ns 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: '${prefix}-bus'
  location: location
  sku: { name: 'Standard', tier: 'Standard' }
  properties: { disableLocalAuth: true, minimumTlsVersion: '1.2' }
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = [for t in topics: {
  parent: ns
  name: t
  properties: { defaultMessageTimeToLive: 'P14D', requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindow: 'PT10M' }
}]

resource subscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = [for s in subscriptions: {
  name: '${ns.name}/${s.topic}/${s.app}'
  dependsOn: [topic]
  properties: {
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
  }
}]

// Azure Service Bus Data Sender + Data Receiver.
var roles = ['69a216fc-b8fb-44d8-bc22-1f3c2cd27a39', '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0']
resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in roles: {
  scope: ns
  name: guid(ns.id, identityPrincipalId, role)
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

// pubsub-broadcast: each catalog and storefront replica creates its own subscription
// (consumerID {uuid}, deleted by Service Bus after 5 idle minutes), which needs Manage: Azure
// Service Bus Data Owner, on the topics read that way only (not the namespace).
var broadcastTopics = ['product-events', 'inventory-events', 'order-events', 'shipping-events']
resource broadcastTopic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' existing = [for t in broadcastTopics: {
  parent: ns
  name: t
}]
resource broadcastOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (t, i) in broadcastTopics: {
  scope: broadcastTopic[i]
  name: guid(ns.id, t, identityPrincipalId, 'broadcast-owner')
  dependsOn: [topic]
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '090c5cfd-751d-490a-894a-3ce6f1109419')
  }
}]

output namespaceName string = ns.name
