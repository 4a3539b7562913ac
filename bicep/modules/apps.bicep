// One Container App per row of deploy/apps.json (every app of dapr.yaml, web included): the
// same app-id, port and uvicorn module as `./taskw up`, Dapr enabled, its resources and
// replicas from the table, and its KEDA rules:
// - web and storefront (the only external ingress): HTTP concurrency;
// - every app with a `pubsub` subscription: one azure-servicebus rule per subscription (the
//   topic's backlog for that app-id), signed in with the scaler identity, no connection
//   string (servicebus.bicep);
// - every app: CPU utilisation, for the load that reaches it through Dapr service invocation
//   (sidecar to sidecar, not through the HTTP ingress an HTTP rule counts).
// Apps that host actors or the checkout saga's worker keep `minReplicas >= 1` (reminders,
// timers and orchestrations need a live host); the table's rows say which.
//
// Dapr app API token: Container Apps gives every Dapr-enabled app one, always on: it injects
// APP_API_TOKEN into the container (a random token per revision) and its daprd sends it as
// `dapr-api-token` on every call to the app. The internal apps refuse any request without it
// (apps/platform/http.py `install_common`, health probes exempt), as locally where
// scripts/up.sh exports one. Nothing to switch on here; there is no ARM property for it.
//
// App resiliency mirrors the `apps` targets of components/local/resiliency.yaml (timeout 5 s,
// 3 retries on 502-504) and adds the environment's circuit breaker, which counts only 5xx
// answers (Dapr 1.16's own breaker would count business 404/409s, see resiliency.yaml).
param location string
param environmentId string
@description('The apps\' user-assigned identity (resource id): PostgreSQL, Service Bus, Key Vault, App Configuration, the registry.')
param identityId string
@description('Identity of the KEDA Service Bus rules (servicebus.bicep output `scalerIdentityId`); never available to the apps\' code.')
param scalerIdentityId string
@description('Container image every app runs (one image, the app chosen by its command).')
param image string
@description('Registry login server the image is pulled from, with the apps\' identity (AcrPull).')
param registryServer string
@description('Service Bus namespace name (the KEDA rules measure its subscriptions).')
param serviceBusNamespace string
@description('Application Insights connection string for the apps\' OpenTelemetry exporter (not a secret: it only lets one send telemetry).')
param appInsightsConnectionString string = ''
@description('Ingress IP allow list of web and storefront: [{ name, ipAddressRange }] (CIDR); empty: open to all.')
param ipRestrictions array = []
@description('Checkout saga engine: Dapr Workflow on the sidecar, or the Azure Durable Task Scheduler.')
@allowed(['dapr', 'durabletask'])
param sagaEngine string = 'dapr'
@description('Durable Task Scheduler endpoint (sagaEngine durabletask).')
param durableTaskEndpoint string = ''
@description('Durable Task Scheduler task hub name (sagaEngine durabletask).')
param durableTaskHub string = ''
// Accepted so main.bicep can hand it over: notifications sends through the `email` binding,
// Azure Communication Services' SMTP endpoint, whose host and login come from Key Vault
// (components/azure/email.yaml), so no app reads the ACS endpoint itself yet.
@description('Azure Communication Services endpoint (not read by the apps: email goes through ACS SMTP).')
#disable-next-line no-unused-params
param emailEndpoint string = ''
@description('Stripe publishable key (pk_...) the web pages give Stripe.js; not a secret.')
param stripePublishableKey string = ''
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
@description('Client id of the apps\' managed identity (DefaultAzureCredential picks it: AZURE_CLIENT_ID).')
param identityClientId string = ''
@description('Log Analytics workspace (customer) id the environment logs to: the operations API reads app logs there.')
param logsWorkspaceId string = ''

var table = loadJsonContent('../../deploy/apps.json')
var apps = table.apps

// Settings every app takes.
var commonEnv = concat(
  [ { name: 'SC_ENVIRONMENT', value: 'azure' } ],
  empty(identityClientId) ? [] : [ { name: 'AZURE_CLIENT_ID', value: identityClientId } ],
  empty(appInsightsConnectionString) ? [] : [
    { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
  ]
)

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
  // The saga engine (apps/checkout/settings.py): the scheduler is reached over TLS with the
  // identity's Entra token (AZURE_CLIENT_ID above).
  checkout: concat(
    [ { name: 'CHECKOUT_SAGA_ENGINE', value: sagaEngine } ],
    sagaEngine != 'durabletask' ? [] : [
      { name: 'CHECKOUT_DURABLETASK_ENDPOINT', value: durableTaskEndpoint }
      { name: 'CHECKOUT_DURABLETASK_TASKHUB', value: durableTaskHub }
      { name: 'CHECKOUT_DURABLETASK_SECURE', value: 'true' }
    ]
  )
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
  web: empty(stripePublishableKey) ? [] : [
    { name: 'WEB_STRIPE_PUBLISHABLE_KEY', value: stripePublishableKey }
  ]
}

// Container Apps takes an allow list as rules of one action; the caller gives name + range.
var allowList = [for r in ipRestrictions: {
  name: r.name
  ipAddressRange: r.ipAddressRange
  action: 'Allow'
  description: r.?description ?? 'allowed client range'
}]

resource containerApps 'Microsoft.App/containerApps@2025-01-01' = [for a in apps: {
  name: a.appId
  location: location
  // azd deploys each service's image to the Container App carrying its name in this tag.
  tags: { 'azd-service-name': a.appId }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: union(
      { '${identityId}': {} },
      empty(a.subscribes) ? {} : { '${scalerIdentityId}': {} }
    )
  }
  properties: {
    environmentId: environmentId
    configuration: {
      activeRevisionsMode: 'Single'
      // The scaler identity serves the scale rules only: not in the app's token endpoint.
      identitySettings: empty(a.subscribes) ? [] : [ { identity: scalerIdentityId, lifecycle: 'None' } ]
      ingress: {
        external: a.external
        targetPort: a.port
        transport: 'http'
        // HTTPS only: plain HTTP is redirected, never served.
        allowInsecure: false
        ipSecurityRestrictions: a.external ? allowList : []
      }
      dapr: {
        enabled: true
        appId: a.appId
        appPort: a.port
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
          // dapr.yaml's command, on the container's port and all interfaces (the ingress and
          // the sidecar reach the app over the replica's network, not loopback).
          command: [ 'python', '-m', 'uvicorn', a.module, '--host', '0.0.0.0', '--port', string(a.port), '--no-access-log', '--timeout-keep-alive', '120', '--http', 'apps.platform.server:BoundedHttpToolsProtocol' ]
          env: concat(
            commonEnv,
            [
              // The image's HEALTHCHECK (docker/podman runs) and the OpenTelemetry resource.
              { name: 'SC_APP_PORT', value: string(a.port) }
              { name: 'OTEL_SERVICE_NAME', value: a.appId }
            ],
            appEnv[?a.appId] ?? []
          )
          resources: { cpu: json(a.cpu), memory: a.memory }
          probes: [
            // Model loads and read-model warm-ups: up to ~2 minutes before liveness counts
            // (Container Apps caps failureThreshold at 10 and initialDelaySeconds at 60).
            { type: 'Startup', httpGet: { path: '/health/live', port: a.port }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 10 }
            { type: 'Liveness', httpGet: { path: '/health/live', port: a.port }, periodSeconds: 10 }
            { type: 'Readiness', httpGet: { path: '/health/ready', port: a.port }, periodSeconds: 5 }
          ]
        }
      ]
      scale: {
        minReplicas: a.minReplicas
        maxReplicas: a.maxReplicas
        rules: concat(
          a.external ? [ { name: 'http-concurrency', http: { metadata: { concurrentRequests: string(a.httpConcurrency) } } } ] : [],
          map(a.subscribes, t => {
            name: 'servicebus-${t}'
            custom: {
              type: 'azure-servicebus'
              identity: scalerIdentityId
              metadata: {
                namespace: serviceBusNamespace
                topicName: t
                subscriptionName: a.appId
                // Backlog per replica: Dapr runs 20 handlers at once per sidecar
                // (maxConcurrentHandlers), so 40 waiting is two rounds behind.
                messageCount: '40'
              }
            }
          }),
          [ { name: 'cpu', custom: { type: 'cpu', metadata: { type: 'Utilization', value: '70' } } } ]
        )
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
      retryBackOff: { initialDelayInMilliseconds: 500, maxIntervalInMilliseconds: 2000 }
      matches: { httpStatusCodes: [ 502, 503, 504 ] }
    }
    circuitBreakerPolicy: { consecutiveErrors: 5, intervalInSeconds: 10, maxEjectionPercent: 100 }
  }
}]

var storefrontIndex = indexOf(map(apps, a => a.appId), 'storefront')
var webIndex = indexOf(map(apps, a => a.appId), 'web')
output storefrontUrl string = 'https://${containerApps[storefrontIndex].properties.configuration.ingress.fqdn}'
output webUrl string = 'https://${containerApps[webIndex].properties.configuration.ingress.fqdn}'
@description('Container App names (= Dapr app-ids), for azd and the operations API.')
output appNames array = [for a in apps: a.appId]
