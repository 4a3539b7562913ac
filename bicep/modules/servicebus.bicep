// Service Bus for `pubsub` and `pubsub-broadcast` (pubsub.azure.servicebus.topics): the topics
// and one subscription per (topic, subscribing app) from deploy/apps.json (subscription name =
// consumerID = app-id), their dead-letter settings, and Entra-only access (no SAS keys):
// data-plane roles for the apps' identity and a second identity the KEDA scale rules read
// subscription lengths with.
param location string
param prefix string
param identityPrincipalId string

var table = loadJsonContent('../../deploy/apps.json')
var topics = table.topics
var subscriptions = flatten(map(table.apps, a => map(a.subscribes, t => { topic: t, app: a.appId })))

// Delivery settings shared by every subscription; components/azure/pubsub.yaml says the same
// to the sidecars (maxDeliveryCount, lockDurationInSec) and components/local/pubsub.yaml's
// processingTimeout is the same 60 s (tests/unit/test_azure_apps.py keeps them equal).
// - A message is first retried inside the sidecar (components/local/resiliency.yaml
//   `pubsubRetry`: ~4 minutes, the lock renewed meanwhile); when those retries run out Dapr
//   publishes it to `dead-letter-events` itself (the apps' deadLetterTopic) and completes it.
// - So a Service Bus delivery count grows only when a sidecar or replica dies holding the
//   message: 10 such losses and Service Bus dead-letters it, as it does an expired message
//   (14 days unread). Both are forwarded to `dead-letter-events`, where the backoffice's
//   dead-letter console lists and replays every dead letter, whichever way it got there.
var maxDeliveryCount = 10
var lockDuration = 'PT1M'
var messageTimeToLive = 'P14D'

resource ns 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: '${prefix}-bus-${uniqueString(resourceGroup().id)}'
  location: location
  sku: { name: 'Standard', tier: 'Standard' }
  // Entra ID only: no SAS keys or connection strings exist to leak.
  properties: { disableLocalAuth: true, minimumTlsVersion: '1.2' }
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = [for t in topics: {
  parent: ns
  name: t
  properties: {
    defaultMessageTimeToLive: messageTimeToLive
    // Dapr sets the CloudEvent id as MessageId: a publish retried after a lost answer is
    // dropped here instead of delivered twice.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
  }
}]

resource subscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = [for s in subscriptions: {
  name: '${ns.name}/${s.topic}/${s.app}'
  dependsOn: [topic]
  properties: {
    maxDeliveryCount: maxDeliveryCount
    lockDuration: lockDuration
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
    // Into the dead-letter topic the backoffice reads; its own subscription to that topic
    // keeps its dead letters in place (forwarding them would loop), where the DLQ-depth
    // alert sees them.
    forwardDeadLetteredMessagesTo: s.topic == 'dead-letter-events' ? null : 'dead-letter-events'
  }
}]

// Azure Service Bus Data Sender + Data Receiver for the apps.
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

// Azure Service Bus Data Owner (Manage): the only role under which a subscription's message
// counts can be read, which KEDA's azure-servicebus scaler does.
var dataOwner = '090c5cfd-751d-490a-894a-3ce6f1109419'

// The scale rules' identity. KEDA needs Manage on the subscriptions it measures, which the
// apps must not hold namespace-wide (they could delete topics). So the rules sign in with
// this identity; apps.bicep assigns it to the subscribers with `lifecycle: 'None'`, which
// leaves it to the platform (scale rules) and out of reach of the apps' code.
resource scaler 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}-scaler'
  location: location
}

resource scalerOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: ns
  name: guid(ns.id, scaler.id, dataOwner)
  properties: {
    principalId: scaler.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataOwner)
  }
}

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
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataOwner)
  }
}]

output namespaceName string = ns.name
output namespaceId string = ns.id
@description('Resource id of the identity the KEDA Service Bus rules use (apps.bicep `scalerIdentityId`).')
output scalerIdentityId string = scaler.id
