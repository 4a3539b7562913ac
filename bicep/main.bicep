// SmartCommerce on Azure Container Apps, everything `azd up` needs (azure.yaml, README
// "Deploy to Azure"): the apps' user-assigned identity; Container Registry; PostgreSQL
// Flexible Server (Entra ID only) for the Dapr state, actor and workflow stores; Key Vault
// (RBAC) behind the secret stores; Service Bus topics and subscriptions; App Configuration;
// Azure Communication Services email; Log Analytics + Application Insights; the Container
// Apps environment with managed Dapr and its components; one Container App per Dapr app-id;
// the operators' workbook and alert rules; optionally the Durable Task Scheduler (saga
// engine) and Front Door with a WAF. Every data plane is reached with the managed identity
// through role assignments: no keys, passwords or connection strings anywhere.
targetScope = 'resourceGroup'

@description('Azure region of the regional resources.')
param location string = resourceGroup().location

@description('Short name used as a prefix for every resource.')
@minLength(3)
@maxLength(12)
param prefix string = 'smartcomm'

@description('Image every app runs (registry/repository:tag). Empty: the image the apps run now (`appsExist`), else a public placeholder until `azd deploy` pushes the built one.')
param image string = ''

@description('The Container Apps exist already (azd: SERVICE_STOREFRONT_RESOURCE_EXISTS); keep their image on re-provision.')
param appsExist bool = false

@description('Object id of who deploys (azd fills AZURE_PRINCIPAL_ID): may push images and create the Key Vault secrets. Empty: no such roles.')
param deployerPrincipalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param deployerPrincipalType string = 'User'

@description('Browser origins allowed to call the public API.')
param corsOrigins array = []

@description('Stripe publishable key for the browser (public by design, not a secret).')
param stripePublishableKey string = ''

@description('Microsoft Entra ID sign-in (leave empty to turn it off).')
param entraIssuer string = ''
param entraAudience string = ''
param entraJwksUrl string = ''

@description('Sender address of customer email (a MailFrom of a domain linked to the ACS resource). Empty: DoNotReply@ the Azure-managed domain created here.')
param emailSender string = ''

@description('Where Azure Communication Services keeps its data at rest (a geography).')
param emailDataLocation string = 'United States'

@description('Public address of the shop, for links in email.')
param publicBaseUrl string = ''

@description('Ingress IP restrictions of the public apps: [{name, ipAddressRange}] (CIDR). Empty: open to all.')
param ipRestrictions array = []

@description('Checkout saga engine: Dapr Workflow in the sidecar, or the Azure Durable Task Scheduler (created only then).')
@allowed(['dapr', 'durabletask'])
param sagaEngine string = 'dapr'

@description('Put Azure Front Door (with a WAF policy) in front of web and storefront.')
param frontDoor bool = false

@allowed(['Standard_AzureFrontDoor', 'Premium_AzureFrontDoor'])
param frontDoorSku string = 'Standard_AzureFrontDoor'

@description('Email address that receives the alerts (empty: alerts show in Azure Monitor only).')
param alertEmail string = ''

@description('PostgreSQL compute size (see modules/postgres.bicep on connections).')
param postgresSku string = 'Standard_B2s'

@description('Extra client address ranges allowed to PostgreSQL: [{name, startIpAddress, endIpAddress}].')
param postgresClientIpRanges array = []

// The one app table (deploy/apps.json: apps.bicep and servicebus.bicep build the apps, topics
// and subscriptions from it). Alerts and Front Door take its public apps (external ingress).
var appTable = loadJsonContent('../deploy/apps.json')
var publicApps = map(filter(appTable.apps, a => a.external), a => a.appId)

// A public image that starts without our registry: the Container Apps exist before the
// first `azd deploy` builds and pushes ours (azd then sets each app's image).
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: { location: location, prefix: prefix }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: { location: location, prefix: prefix }
}

module environment 'modules/environment.bicep' = {
  name: 'environment'
  params: {
    location: location
    prefix: prefix
    workspaceId: monitoring.outputs.workspaceId
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  params: {
    location: location
    prefix: prefix
    identityPrincipalId: identity.outputs.principalId
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  params: {
    location: location
    prefix: prefix
    identityPrincipalId: identity.outputs.principalId
    identityName: identity.outputs.name
    skuName: postgresSku
    clientIpRanges: postgresClientIpRanges
  }
}

module keyvault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    prefix: prefix
    identityPrincipalId: identity.outputs.principalId
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module servicebus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    location: location
    prefix: prefix
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

module email 'modules/email.bicep' = {
  name: 'email'
  params: {
    prefix: prefix
    identityPrincipalId: identity.outputs.principalId
    dataLocation: emailDataLocation
  }
}

module durabletask 'modules/durabletask.bicep' = if (sagaEngine == 'durabletask') {
  name: 'durabletask'
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
    postgresHost: postgres.outputs.host
    serviceBusNamespace: servicebus.outputs.namespaceName
    keyVaultName: keyvault.outputs.name
    appConfigurationEndpoint: appconfig.outputs.endpoint
  }
}

module currentImage 'modules/current-image.bicep' = {
  name: 'current-image'
  params: { exists: appsExist, appName: 'storefront' }
}

var appImage = !empty(image) ? image : (appsExist ? currentImage.outputs.image : placeholderImage)

module apps 'modules/apps.bicep' = {
  name: 'apps'
  // The registry's AcrPull for the identity before any app pulls from it.
  dependsOn: [components, registry]
  params: {
    location: location
    environmentId: environment.outputs.id
    identityId: identity.outputs.id
    scalerIdentityId: servicebus.outputs.scalerIdentityId
    image: appImage
    registryServer: registry.outputs.loginServer
    corsOrigins: corsOrigins
    stripePublishableKey: stripePublishableKey
    entraIssuer: entraIssuer
    entraAudience: entraAudience
    entraJwksUrl: entraJwksUrl
    emailSender: empty(emailSender) ? email.outputs.defaultSender : emailSender
    emailEndpoint: email.outputs.endpoint
    publicBaseUrl: publicBaseUrl
    appConfigurationEndpoint: appconfig.outputs.endpoint
    identityClientId: identity.outputs.clientId
    logsWorkspaceId: monitoring.outputs.workspaceCustomerId
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    serviceBusNamespace: servicebus.outputs.namespaceName
    ipRestrictions: ipRestrictions
    sagaEngine: sagaEngine
    durableTaskEndpoint: sagaEngine == 'durabletask' ? durabletask.outputs.endpoint : ''
    durableTaskHub: sagaEngine == 'durabletask' ? durabletask.outputs.taskHubName : ''
  }
}

// The operations API's reach on Azure: read the workspace's logs, restart revisions.
module operations 'modules/operations.bicep' = {
  name: 'operations'
  params: {
    workspaceName: monitoring.outputs.workspaceName
    identityPrincipalId: identity.outputs.principalId
  }
}

var serviceBusNamespaceId = servicebus.outputs.namespaceId

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  dependsOn: [apps]
  params: {
    location: location
    workspaceId: monitoring.outputs.workspaceId
    serviceBusNamespaceId: serviceBusNamespaceId
    storefrontAppId: resourceId('Microsoft.App/containerApps', 'storefront')
    webAppId: resourceId('Microsoft.App/containerApps', 'web')
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  dependsOn: [apps]
  params: {
    location: location
    prefix: prefix
    workspaceId: monitoring.outputs.workspaceId
    serviceBusNamespaceId: serviceBusNamespaceId
    publicAppIds: map(publicApps, a => resourceId('Microsoft.App/containerApps', a))
    alertEmail: alertEmail
  }
}

module frontdoor 'modules/frontdoor.bicep' = if (frontDoor) {
  name: 'frontdoor'
  params: {
    prefix: prefix
    sku: frontDoorSku
    webHost: replace(apps.outputs.webUrl, 'https://', '')
    storefrontHost: replace(apps.outputs.storefrontUrl, 'https://', '')
  }
}

output storefrontUrl string = apps.outputs.storefrontUrl
output webUrl string = apps.outputs.webUrl
output frontDoorWebUrl string = frontDoor ? frontdoor.outputs.webUrl : ''
output frontDoorStorefrontUrl string = frontDoor ? frontdoor.outputs.storefrontUrl : ''
output identityClientId string = identity.outputs.clientId
output serviceBusNamespace string = servicebus.outputs.namespaceName
output postgresHost string = postgres.outputs.host
output emailSender string = empty(emailSender) ? email.outputs.defaultSender : emailSender
output durableTaskEndpoint string = sagaEngine == 'durabletask' ? durabletask.outputs.endpoint : ''
// azd reads these (upper-case outputs become azd environment values, seen by the hooks).
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_KEY_VAULT_NAME string = keyvault.outputs.name
output KEY_VAULT_GENERATED_SECRETS string = keyvault.outputs.generatedSecrets
output KEY_VAULT_PLACEHOLDER_SECRETS string = keyvault.outputs.placeholderSecrets
