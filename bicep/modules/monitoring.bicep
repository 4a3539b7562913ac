// Log Analytics (every container's console lines, the sidecars' included, through the
// environment's diagnostic settings: environment.bicep) and a workspace-based Application
// Insights: the sidecars' Dapr traces (the environment's daprAIConnectionString) and the
// apps' own OpenTelemetry exporter (APPLICATIONINSIGHTS_CONNECTION_STRING, apps.bicep).
param location string
param prefix string
@description('Days Log Analytics keeps data (30 are included in the ingestion price).')
param retentionInDays int = 30
@description('Daily ingestion cap in GB (-1: none). A cap stops ingestion for the day, alerts included.')
param dailyCapGb int = -1

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${prefix}-logs'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
    workspaceCapping: { dailyQuotaGb: dailyCapGb }
    features: { enableLogAccessUsingOnlyResourcePermissions: true }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${prefix}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    IngestionMode: 'LogAnalytics'
  }
}

output workspaceId string = logs.id
output workspaceName string = logs.name
// The workspace (customer) id the operations API queries (backoffice, Log Analytics API).
output workspaceCustomerId string = logs.properties.customerId
output appInsightsId string = insights.id
// Not a secret: an Application Insights connection string only names where telemetry is
// ingested (instrumentation key + ingestion endpoint); it grants no read or management access.
// It goes to the environment (Dapr traces) and to the apps' exporter as a plain setting.
output appInsightsConnectionString string = insights.properties.ConnectionString
