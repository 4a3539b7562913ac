// One Container App per Dapr app-id (the apps of dapr.yaml), Dapr enabled with the same
// app-id and port. Only storefront (the API) and web (the pages) have external ingress. Actor and workflow hosts keep a
// replica so reminders and timers fire. App resiliency mirrors the `apps` targets of
// components/local/resiliency.yaml (timeout 5 s, 3 retries on 502-504) and adds the
// environment's circuit breaker, which counts only 5xx answers (Dapr 1.16's own breaker
// would count business 404/409s, see components/local/resiliency.yaml).
param location string
param environmentId string
param identityId string
param image string
param registryServer string
@description('Browser origins allowed to call the public API (storefront CORS).')
param corsOrigins array = []
@description('Microsoft Entra ID sign-in: issuer, audience (API app id URI) and the tenant JWKS URL.')
param entraIssuer string = ''
param entraAudience string = ''
param entraJwksUrl string = ''
@description('Sender of customer email: a MailFrom address of a domain linked to the Azure Communication Services resource.')
param emailSender string = ''
@description('Public address of the shop, for links in email (verify, reset, tracking).')
param publicBaseUrl string = ''
@description('Azure App Configuration endpoint (runtime settings); backoffice writes it.')
param appConfigurationEndpoint string = ''
@description('Client id of the apps\' managed identity (backoffice signs in to App Configuration with it).')
param identityClientId string = ''
@description('Log Analytics workspace (customer) id the environment logs to: the operations API reads app logs there.')
param logsWorkspaceId string = ''

// Settings only some apps take; everything else is in code defaults or the secret store.
var appEnv = {
  storefront: [
    { name: 'STOREFRONT_TRUST_FORWARDED', value: 'true' }
    { name: 'STOREFRONT_CORS_ORIGINS', value: string(corsOrigins) }
    // Container Apps' ingress ends a request after 240 s: live order streams close first
    // (the browser's EventSource reconnects with Last-Event-ID).
    { name: 'STOREFRONT_LIVE_MAX_SECONDS', value: '230' }
  ]
  // Tracking links in shipments and emails point at the shop's own tracking page.
  orders: empty(publicBaseUrl) ? [] : [
    { name: 'ORDERS_CARRIER_TRACKING_URL', value: '${publicBaseUrl}/track/{tracking_number}' }
  ]
  notifications: concat(
    empty(emailSender) ? [] : [ { name: 'NOTIFICATIONS_EMAIL_FROM', value: emailSender } ],
    empty(publicBaseUrl) ? [] : [ { name: 'NOTIFICATIONS_PUBLIC_BASE_URL', value: publicBaseUrl } ]
  )
  // The admin API writes runtime settings to App Configuration (apps read them via Dapr).
  // The operations API: logs from Log Analytics, restarts through the Container Apps API.
  backoffice: concat(
    empty(appConfigurationEndpoint) ? [] : [
      { name: 'BACKOFFICE_CONFIG_WRITER', value: 'appconfig' }
      { name: 'BACKOFFICE_APPCONFIG_ENDPOINT', value: appConfigurationEndpoint }
      { name: 'AZURE_CLIENT_ID', value: identityClientId }
    ],
    empty(logsWorkspaceId) ? [] : [
      { name: 'BACKOFFICE_OPS_PLATFORM', value: 'azure' }
      { name: 'BACKOFFICE_OPS_SUBSCRIPTION_ID', value: subscription().subscriptionId }
      { name: 'BACKOFFICE_OPS_RESOURCE_GROUP', value: resourceGroup().name }
      { name: 'BACKOFFICE_OPS_LOG_WORKSPACE_ID', value: logsWorkspaceId }
      { name: 'BACKOFFICE_OPS_IDENTITY_CLIENT_ID', value: identityClientId }
    ]
  )
  identity: empty(entraIssuer) ? [] : [
    { name: 'IDENTITY_ENTRA_ISSUER', value: entraIssuer }
    { name: 'IDENTITY_ENTRA_AUDIENCE', value: entraAudience }
    { name: 'IDENTITY_ENTRA_JWKS_URL', value: entraJwksUrl }
  ]
}

var apps = [
  { appId: 'storefront', external: true, minReplicas: 1, maxReplicas: 10, module: 'storefront', httpReadBufferSize: 64 }
  { appId: 'catalog', external: false, minReplicas: 1, maxReplicas: 10, module: 'catalog' }
  { appId: 'cart', external: false, minReplicas: 1, maxReplicas: 10, module: 'cart' }
  { appId: 'orders', external: false, minReplicas: 1, maxReplicas: 5, module: 'orders' }
  { appId: 'fraud', external: false, minReplicas: 1, maxReplicas: 10, module: 'fraud' }
  { appId: 'forecast', external: false, minReplicas: 1, maxReplicas: 3, module: 'forecast' }
  { appId: 'pricing', external: false, minReplicas: 1, maxReplicas: 3, module: 'pricing' }
  { appId: 'recommendations', external: false, minReplicas: 1, maxReplicas: 5, module: 'recommendations' }
  { appId: 'payments', external: false, minReplicas: 1, maxReplicas: 5, module: 'payments' }
  { appId: 'identity', external: false, minReplicas: 1, maxReplicas: 5, module: 'identity' }
  { appId: 'checkout', external: false, minReplicas: 1, maxReplicas: 5, module: 'checkout' }
  // Keeps a replica: its sweeper retries mail left pending while the server was down.
  { appId: 'notifications', external: false, minReplicas: 1, maxReplicas: 3, module: 'notifications' }
  { appId: 'backoffice', external: false, minReplicas: 1, maxReplicas: 3, module: 'backoffice' }
  // The web pages: public ingress beside the storefront API, whose client it is.
  { appId: 'web', external: true, minReplicas: 1, maxReplicas: 10, module: 'web' }
]

resource containerApps 'Microsoft.App/containerApps@2024-03-01' = [for a in apps: {
  name: a.appId
  location: location
  identity: { type: 'UserAssigned', userAssignedIdentities: { '${identityId}': {} } }
  properties: {
    environmentId: environmentId
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: { external: a.external, targetPort: 8000, transport: 'http', allowInsecure: false }
      dapr: {
        enabled: true
        appId: a.appId
        appPort: 8000
        appProtocol: 'http'
        enableApiLogging: false
        logLevel: 'info'
        httpReadBufferSize: a.?httpReadBufferSize ?? 4
      }
      registries: [ { server: registryServer, identity: identityId } ]
    }
    template: {
      containers: [
        {
          name: a.appId
          image: image
          command: [ 'python', '-m', 'uvicorn', 'apps.${a.module}.main:app', '--host', '0.0.0.0', '--port', '8000', '--no-access-log', '--timeout-keep-alive', '120', '--http', 'apps.platform.server:BoundedHttpToolsProtocol' ]
          env: concat([ { name: 'SC_ENVIRONMENT', value: 'azure' } ], appEnv[?a.appId] ?? [])
          resources: { cpu: json('0.5'), memory: '1Gi' }
          probes: [
            { type: 'Liveness', httpGet: { path: '/health/live', port: 8000 }, periodSeconds: 10 }
            { type: 'Readiness', httpGet: { path: '/health/ready', port: 8000 }, periodSeconds: 5 }
          ]
        }
      ]
      scale: {
        minReplicas: a.minReplicas
        maxReplicas: a.maxReplicas
        rules: [ { name: 'http-concurrency', http: { metadata: { concurrentRequests: '50' } } } ]
      }
    }
  }
}]

resource appResiliency 'Microsoft.App/containerApps/resiliencyPolicies@2024-10-02-preview' = [for (a, i) in apps: if (!a.external) {
  parent: containerApps[i]
  name: 'resiliency'
  properties: {
    timeoutPolicy: { responseTimeoutInSeconds: 5, connectionTimeoutInSeconds: 2 }
    httpRetryPolicy: {
      maxRetries: 3
      retryBackOff: { initialDelayInMilliseconds: 100, maxIntervalInMilliseconds: 2000 }
      matches: { httpStatusCodes: [ 502, 503, 504 ] }
    }
    circuitBreakerPolicy: { consecutiveErrors: 5, intervalInSeconds: 10, maxEjectionPercent: 100 }
  }
}]

output storefrontUrl string = 'https://${containerApps[0].properties.configuration.ingress.fqdn}'
output webUrl string = 'https://${containerApps[length(apps) - 1].properties.configuration.ingress.fqdn}'
