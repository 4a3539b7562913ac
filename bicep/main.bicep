// SmartCommerce on Azure Container Apps: the environment (with Dapr telemetry to
// Application Insights), a user-assigned identity for the apps, Service Bus topics and
// subscriptions, the Dapr components (same names as components/local) with their
// resiliency policies, and one Container App per Dapr app-id.
// First version (foundation issue): PostgreSQL and Key Vault are passed in by name; the
// Azure issue adds their provisioning, Entra ID role set-up and KEDA scaling rules.
targetScope = 'resourceGroup'

@description('Azure region')
@description('Browser origins allowed to call the public API.')
param corsOrigins array = []
@description('Microsoft Entra ID sign-in (leave empty to turn it off).')
param entraIssuer string = ''
param entraAudience string = ''
param entraJwksUrl string = ''
@description('Sender address of customer email (Azure Communication Services MailFrom of a linked domain).')
param emailSender string = ''
@description('Public address of the shop, for links in email.')
param publicBaseUrl string = ''
param location string = resourceGroup().location

@description('Short name used as a prefix for every resource')
@minLength(3)
@maxLength(12)
param prefix string = 'smartcomm'

@description('Azure Database for PostgreSQL flexible server host name (Entra ID auth enabled)')
param postgresHost string

@description('Key Vault name holding application secrets')
param keyVaultName string

@description('Container image tag for every app (registry/smartcommerce:<tag>)')
param image string

@description('Registry server of the image, pulled with the apps\' managed identity')
param registryServer string

var topics = [
  'user-events'
  'product-events'
  'order-events'
  'inventory-events'
  'payment-events'
  'shipping-events'
  'support-events'
  'dead-letter-events'
  'audit-events'
]

// Subscribers per topic (consumerID = app-id), mirrored from the apps' subscriptions.
var subscriptions = [
  { topic: 'order-events', app: 'catalog' }
  { topic: 'order-events', app: 'orders' }
  { topic: 'order-events', app: 'forecast' }
  { topic: 'order-events', app: 'recommendations' }
  { topic: 'payment-events', app: 'checkout' }
  { topic: 'order-events', app: 'payments' }
  { topic: 'payment-events', app: 'orders' }
  { topic: 'order-events', app: 'identity' }
  { topic: 'shipping-events', app: 'orders' }
  { topic: 'support-events', app: 'orders' }
  { topic: 'order-events', app: 'notifications' }
  { topic: 'payment-events', app: 'notifications' }
  { topic: 'shipping-events', app: 'notifications' }
  { topic: 'support-events', app: 'notifications' }
  { topic: 'user-events', app: 'notifications' }
  { topic: 'support-events', app: 'backoffice' }
  { topic: 'order-events', app: 'backoffice' }
  { topic: 'payment-events', app: 'backoffice' }
  { topic: 'dead-letter-events', app: 'backoffice' }
  { topic: 'audit-events', app: 'backoffice' }
  { topic: 'inventory-events', app: 'backoffice' }
]

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: { location: location, prefix: prefix }
}

module environment 'modules/environment.bicep' = {
  name: 'environment'
  params: { location: location, prefix: prefix }
}

module servicebus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    location: location
    prefix: prefix
    topics: topics
    subscriptions: subscriptions
    identityPrincipalId: identity.outputs.principalId
  }
}

module appconfig 'modules/appconfig.bicep' = {
  name: 'appconfig'
  params: {
    location: location
    prefix: prefix
    identityPrincipalId: identity.outputs.principalId
  }
}

module components 'modules/dapr-components.bicep' = {
  name: 'dapr-components'
  params: {
    environmentName: environment.outputs.name
    identityClientId: identity.outputs.clientId
    identityName: identity.outputs.name
    postgresHost: postgresHost
    serviceBusNamespace: servicebus.outputs.namespaceName
    keyVaultName: keyVaultName
    appConfigurationEndpoint: appconfig.outputs.endpoint
  }
}

module apps 'modules/apps.bicep' = {
  name: 'apps'
  dependsOn: [components]
  params: {
    location: location
    environmentId: environment.outputs.id
    identityId: identity.outputs.id
    image: image
    registryServer: registryServer
    corsOrigins: corsOrigins
    entraIssuer: entraIssuer
    entraAudience: entraAudience
    entraJwksUrl: entraJwksUrl
    emailSender: emailSender
    publicBaseUrl: publicBaseUrl
    appConfigurationEndpoint: appconfig.outputs.endpoint
    identityClientId: identity.outputs.clientId
    logsWorkspaceId: environment.outputs.logsCustomerId
  }
}

// The operations API's reach on Azure: read the workspace's logs, restart revisions.
module operations 'modules/operations.bicep' = {
  name: 'operations'
  params: {
    workspaceName: environment.outputs.logsWorkspaceName
    identityPrincipalId: identity.outputs.principalId
  }
}

output storefrontUrl string = apps.outputs.storefrontUrl
output webUrl string = apps.outputs.webUrl
output identityClientId string = identity.outputs.clientId
output serviceBusNamespace string = servicebus.outputs.namespaceName
