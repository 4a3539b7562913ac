// Alert rules for the operators:
// - dead letters: a message in any Service Bus dead-letter queue (DeadletteredMessages > 0,
//   split per subscription so each one alerts on its own);
// - 5xx: server errors answered at the public ingress of storefront and web (Container Apps
//   `Requests` metric, statusCodeCategory 5xx) above `serverErrorsPer5Minutes`;
// - stuck sagas: checkout's log lines that say a saga is stuck ("saga stuck", the app) or a
//   workflow run that failed and will be retried (its sidecar's "Workflow actor ... will be
//   retried later"), over the Log Analytics workspace.
// Each notifies the action group (email) when `alertEmail` is set; without it the alerts
// still fire and show in Azure Monitor.
param location string
param prefix string
param workspaceId string
param serviceBusNamespaceId string
@description('Container App resource ids whose ingress 5xx are alerted on (the public apps).')
param publicAppIds array
@description('Who gets the alerts by email (empty: no action group).')
param alertEmail string = ''
param serverErrorsPer5Minutes int = 10

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${prefix}-operators'
  location: 'Global'
  properties: {
    groupShortName: take('${prefix}ops', 12)
    enabled: true
    emailReceivers: [ { name: 'operators', emailAddress: alertEmail, useCommonAlertSchema: true } ]
  }
}

var metricActions = empty(alertEmail) ? [] : [ { actionGroupId: actionGroup.id } ]

resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${prefix}-dead-letters'
  location: 'global'
  properties: {
    description: 'A message was dead-lettered on a Service Bus subscription: see the admin pages (Dead letters) to replay or drop it.'
    severity: 2
    enabled: true
    scopes: [ serviceBusNamespaceId ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [ { name: 'EntityName', operator: 'Include', values: [ '*' ] } ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    autoMitigate: true
    actions: metricActions
  }
}

resource serverErrors 'Microsoft.Insights/metricAlerts@2018-03-01' = [for appId in publicAppIds: {
  name: '${prefix}-5xx-${last(split(appId, '/'))}'
  location: 'global'
  properties: {
    description: 'Server errors (5xx) at the public ingress of ${last(split(appId, '/'))}; the workbook shows the rate per app.'
    severity: 1
    enabled: true
    scopes: [ appId ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'server-errors'
          metricNamespace: 'Microsoft.App/containerApps'
          metricName: 'Requests'
          dimensions: [ { name: 'statusCodeCategory', operator: 'Include', values: [ '5xx' ] } ]
          operator: 'GreaterThan'
          threshold: serverErrorsPer5Minutes
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: metricActions
  }
}]

resource stuckSagas 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${prefix}-stuck-sagas'
  location: location
  properties: {
    displayName: 'Stuck or failing checkout sagas'
    description: 'Checkout logged a stuck saga, or its sidecar a workflow run to retry: see the admin pages (Operations > Sagas, filter stuck).'
    severity: 2
    enabled: true
    scopes: [ workspaceId ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: '''
ContainerAppConsoleLogs
| where ContainerAppName == 'checkout'
| where (ContainerName == 'checkout' and Log has 'saga stuck')
    or (ContainerName == 'daprd' and Log has 'Workflow actor' and Log has 'will be retried later')
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: empty(alertEmail) ? [] : [ actionGroup.id ] }
  }
}
