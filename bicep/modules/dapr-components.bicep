// The Dapr components of the environment: the same names, scopes and settings as
// components/azure/*.yaml (tests/unit/test_local_azure_consistency.py checks it), and the
// resiliency policies of components/local/resiliency.yaml in ACA's form.
//
// No keys or connection-string secrets: every component signs in with the apps' managed
// identity (`azureClientId`).
// - PostgreSQL (statestore: documents, actors and the Dapr Workflow state; identitystore;
//   ratelimit): state.postgresql v1 with `useAzureAD: "true"` and `azureClientId`, the
//   connection string carrying no password and the identity's name as the user (the name
//   under which postgres.bicep makes it a Microsoft Entra role). v1 stays: v2 stores rows in
//   another layout and cannot read v1's, and the query API the apps use is v1's only.
// - Runtime settings (runtime-config): configuration.postgresql locally, Azure App
//   Configuration here (its feature-flag home, which backoffice writes), also with the
//   identity's Entra token.
// - pubsub / pubsub-broadcast: Service Bus by namespace + identity; Bicep makes the topics
//   and subscriptions (servicebus.bicep, from deploy/apps.json). publishingScopes and
//   subscriptionScopes are components/local/pubsub.yaml's, which deploy/apps.json's
//   `publishes` / `subscribes` columns are held to (tests/unit/test_azure_apps.py).
// Scopes: each component is loaded only by the apps listed, as locally.
param environmentName string
param identityClientId string
param identityName string
param postgresHost string
param serviceBusNamespace string
param keyVaultName string
param appConfigurationEndpoint string

resource env 'Microsoft.App/managedEnvironments@2024-03-01' existing = {
  name: environmentName
}

var components = [
  {
    name: 'statestore'
    componentType: 'state.postgresql'
    metadata: [
      { name: 'connectionString', value: 'host=${postgresHost} port=5432 user=${identityName} dbname=smartcommerce sslmode=require connect_timeout=10' }
      { name: 'useAzureAD', value: 'true' }
      { name: 'azureClientId', value: identityClientId }
      { name: 'actorStateStore', value: 'true' }
      { name: 'tableName', value: 'dapr_state' }
      { name: 'metadataTableName', value: 'dapr_metadata' }
      { name: 'timeout', value: '20s' }
      { name: 'cleanupInterval', value: '1h' }
    ]
    // Not identity's: it keeps its keys and password hashes in identitystore.
    scopes: [ 'catalog', 'cart', 'orders', 'checkout', 'forecast', 'recommendations', 'payments', 'notifications', 'backoffice' ]
  }
  {
    // Everything identity keeps (signing keys, password hashes, refresh tokens): its own
    // table, loaded only by identity's sidecar. Not an actor store.
    name: 'identitystore'
    componentType: 'state.postgresql'
    metadata: [
      { name: 'connectionString', value: 'host=${postgresHost} port=5432 user=${identityName} dbname=smartcommerce sslmode=require connect_timeout=10' }
      { name: 'useAzureAD', value: 'true' }
      { name: 'azureClientId', value: identityClientId }
      { name: 'tableName', value: 'dapr_identity_state' }
      { name: 'metadataTableName', value: 'dapr_identity_metadata' }
      { name: 'timeout', value: '20s' }
      { name: 'cleanupInterval', value: '1h' }
    ]
    scopes: [ 'identity' ]
  }
  {
    // Runtime settings and feature flags (Dapr Configuration API), read with the identity;
    // the component polls the sentinel key backoffice bumps after each write.
    name: 'runtime-config'
    componentType: 'configuration.azure.appconfig'
    metadata: [
      { name: 'host', value: appConfigurationEndpoint }
      { name: 'azureClientId', value: identityClientId }
      { name: 'subscribePollInterval', value: '5s' }
      { name: 'requestTimeout', value: '15s' }
    ]
    scopes: [ 'fraud', 'orders', 'storefront', 'backoffice' ]
  }
  {
    name: 'ratelimit'
    componentType: 'state.postgresql'
    metadata: [
      { name: 'connectionString', value: 'host=${postgresHost} port=5432 user=${identityName} dbname=smartcommerce sslmode=require connect_timeout=10' }
      { name: 'useAzureAD', value: 'true' }
      { name: 'azureClientId', value: identityClientId }
      { name: 'tableName', value: 'dapr_ratelimit' }
      { name: 'metadataTableName', value: 'dapr_ratelimit_metadata' }
      { name: 'timeout', value: '5s' }
      { name: 'cleanupInterval', value: '5m' }
    ]
    scopes: [ 'storefront' ]
  }
  {
    name: 'pubsub'
    componentType: 'pubsub.azure.servicebus.topics'
    metadata: [
      { name: 'namespaceName', value: '${serviceBusNamespace}.servicebus.windows.net' }
      { name: 'azureClientId', value: identityClientId }
      { name: 'disableEntityManagement', value: 'true' }
      { name: 'maxDeliveryCount', value: '10' }
      { name: 'lockDurationInSec', value: '60' }
      { name: 'maxConcurrentHandlers', value: '20' }
      // components/{local,azure}/pubsub.yaml: who may publish and subscribe to what.
      { name: 'publishingScopes', value: 'storefront=;catalog=product-events,inventory-events,dead-letter-events;cart=user-events;orders=order-events,shipping-events,support-events,dead-letter-events;checkout=order-events,dead-letter-events;forecast=dead-letter-events;recommendations=dead-letter-events;payments=payment-events,dead-letter-events;identity=user-events,dead-letter-events;notifications=dead-letter-events;backoffice=support-events,dead-letter-events,audit-events' }
      { name: 'subscriptionScopes', value: 'storefront=;catalog=order-events;cart=;orders=order-events,payment-events,shipping-events,support-events;checkout=payment-events;forecast=order-events;recommendations=order-events;payments=order-events;identity=order-events;notifications=order-events,payment-events,shipping-events,support-events,user-events;backoffice=support-events,audit-events,dead-letter-events,order-events,payment-events,inventory-events' }
    ]
    scopes: [ 'storefront', 'catalog', 'cart', 'orders', 'checkout', 'forecast', 'recommendations', 'payments', 'identity', 'notifications', 'backoffice' ]
  }
  // components/{local,azure}/pubsub-broadcast.yaml: each catalog replica's own subscription
  // (consumerID {uuid}) to product and stock events, each storefront replica's to order and
  // shipping events (its live streams), created by its sidecar (entity management on, the
  // identity holds Manage on those four topics: servicebus.bicep) and deleted by Service Bus
  // after 5 idle minutes once the replica is gone.
  {
    name: 'pubsub-broadcast'
    componentType: 'pubsub.azure.servicebus.topics'
    metadata: [
      { name: 'namespaceName', value: '${serviceBusNamespace}.servicebus.windows.net' }
      { name: 'azureClientId', value: identityClientId }
      { name: 'consumerID', value: '{uuid}' }
      { name: 'disableEntityManagement', value: 'false' }
      { name: 'autoDeleteOnIdleInSec', value: '300' }
      { name: 'maxDeliveryCount', value: '10' }
      { name: 'lockDurationInSec', value: '60' }
      { name: 'maxConcurrentHandlers', value: '20' }
      { name: 'publishingScopes', value: 'catalog=dead-letter-events;storefront=' }
      { name: 'subscriptionScopes', value: 'catalog=product-events,inventory-events;storefront=order-events,shipping-events' }
    ]
    scopes: [ 'catalog', 'storefront' ]
  }
  // Secret stores, one per audience, each scoped to the apps that read its secrets (a
  // sidecar loads no store outside its scopes). One vault serves them all for now: real
  // per-secret separation needs per-app managed identities (components/azure/README.md).
  {
    name: 'secretstore'
    componentType: 'secretstores.azure.keyvault'
    metadata: [
      { name: 'vaultName', value: keyVaultName }
      { name: 'azureClientId', value: identityClientId }
    ]
    scopes: [ 'storefront', 'catalog', 'cart', 'orders', 'checkout', 'forecast', 'recommendations', 'payments', 'identity', 'fraud', 'notifications', 'backoffice' ]
  }
  {
    name: 'gateway-secrets'
    componentType: 'secretstores.azure.keyvault'
    metadata: [
      { name: 'vaultName', value: keyVaultName }
      { name: 'azureClientId', value: identityClientId }
    ]
    scopes: [ 'storefront', 'identity', 'orders', 'checkout', 'notifications', 'backoffice' ]
  }
  {
    name: 'payments-secrets'
    componentType: 'secretstores.azure.keyvault'
    metadata: [
      { name: 'vaultName', value: keyVaultName }
      { name: 'azureClientId', value: identityClientId }
    ]
    scopes: [ 'payments' ]
  }
  {
    name: 'notifications-secrets'
    componentType: 'secretstores.azure.keyvault'
    metadata: [
      { name: 'vaultName', value: keyVaultName }
      { name: 'azureClientId', value: identityClientId }
    ]
    scopes: [ 'notifications' ]
  }
  {
    name: 'web-secrets'
    componentType: 'secretstores.azure.keyvault'
    metadata: [
      { name: 'vaultName', value: keyVaultName }
      { name: 'azureClientId', value: identityClientId }
    ]
    scopes: [ 'web' ]
  }
  {
    name: 'identity-secrets'
    componentType: 'secretstores.azure.keyvault'
    metadata: [
      { name: 'vaultName', value: keyVaultName }
      { name: 'azureClientId', value: identityClientId }
    ]
    scopes: [ 'identity' ]
  }
  // components/azure/email.yaml: Azure Communication Services' SMTP endpoint. ACS SMTP AUTH
  // takes the Entra application's client secret (no managed-identity sign-in for SMTP), so
  // host, port, user and password are Key Vault secrets read through `secretstore`.
  {
    name: 'email'
    componentType: 'bindings.smtp'
    secretStoreComponent: 'notifications-secrets'
    metadata: [
      { name: 'host', secretRef: 'smtp-host' }
      { name: 'port', secretRef: 'smtp-port' }
      { name: 'user', secretRef: 'smtp-user' }
      { name: 'password', secretRef: 'smtp-password' }
      { name: 'skipTLSVerify', value: 'false' }
      { name: 'priority', value: '3' }
    ]
    scopes: [ 'notifications' ]
  }
]

resource daprComponents 'Microsoft.App/managedEnvironments/daprComponents@2024-03-01' = [for c in components: {
  parent: env
  name: c.name
  properties: {
    componentType: c.componentType
    version: 'v1'
    ignoreErrors: false
    initTimeout: '30s'
    metadata: c.metadata
    secretStoreComponent: c.?secretStoreComponent
    scopes: c.scopes
  }
}]

// components/local/resiliency.yaml -> statestore and pubsub policies (outbound: state
// and publish calls; inbound: event delivery to the apps). The same numbers as there
// (tests/unit/test_resiliency.py): a constant delay is an initial delay equal to the cap,
// and Dapr's exponential policies start from 500 ms.
resource statestoreResiliency 'Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies@2024-10-02-preview' = {
  name: '${environmentName}/statestore/resiliency'
  dependsOn: [daprComponents]
  properties: {
    outboundPolicy: {
      timeoutPolicy: { responseTimeoutInSeconds: 5 }
      httpRetryPolicy: { maxRetries: 1, retryBackOff: { initialDelayInMilliseconds: 10, maxIntervalInMilliseconds: 10 } }
    }
  }
}

resource identitystoreResiliency 'Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies@2024-10-02-preview' = {
  name: '${environmentName}/identitystore/resiliency'
  dependsOn: [daprComponents]
  properties: {
    outboundPolicy: {
      timeoutPolicy: { responseTimeoutInSeconds: 5 }
      httpRetryPolicy: { maxRetries: 1, retryBackOff: { initialDelayInMilliseconds: 10, maxIntervalInMilliseconds: 10 } }
    }
  }
}

resource pubsubResiliency 'Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies@2024-10-02-preview' = {
  name: '${environmentName}/pubsub/resiliency'
  dependsOn: [daprComponents]
  properties: {
    outboundPolicy: {
      timeoutPolicy: { responseTimeoutInSeconds: 30 }
      httpRetryPolicy: { maxRetries: 3, retryBackOff: { initialDelayInMilliseconds: 50, maxIntervalInMilliseconds: 50 } }
    }
    inboundPolicy: {
      timeoutPolicy: { responseTimeoutInSeconds: 30 }
      // components/local/resiliency.yaml: ~4 minutes of retries, no breaker on delivery.
      httpRetryPolicy: { maxRetries: 20, retryBackOff: { initialDelayInMilliseconds: 500, maxIntervalInMilliseconds: 15000 } }
    }
  }
}
