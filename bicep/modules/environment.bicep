// The Container Apps environment with managed Dapr. Its sidecars send their traces to
// Application Insights (daprAIConnectionString); console lines of every app container and
// sidecar go to the Log Analytics workspace through Azure Monitor diagnostic settings
// (destination 'azure-monitor'): no workspace shared key is read or stored anywhere (the
// 'log-analytics' destination would need one). The lines land in the resource-specific
// table ContainerAppConsoleLogs (columns ContainerAppName, ContainerName, Log).
param location string
param prefix string
param workspaceId string
@description('Application Insights connection string (not a secret: ingestion only).')
param appInsightsConnectionString string

resource env 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${prefix}-env'
  location: location
  properties: {
    daprAIConnectionString: appInsightsConnectionString
    appLogsConfiguration: { destination: 'azure-monitor' }
    // A workload-profiles environment with the serverless Consumption profile only: billed
    // per replica second like the apps' sizes in apps.bicep, and open to dedicated profiles
    // or VNet integration later without recreating the environment.
    workloadProfiles: [ { name: 'Consumption', workloadProfileType: 'Consumption' } ]
    zoneRedundant: false
  }
}

resource logsToWorkspace 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-workspace'
  scope: env
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [ { categoryGroup: 'allLogs', enabled: true } ]
  }
}

output id string = env.id
output name string = env.name
output defaultDomain string = env.properties.defaultDomain
