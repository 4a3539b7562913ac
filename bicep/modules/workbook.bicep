// The operators' Azure Monitor workbook (bicep/workbook.json): saga outcomes, stuck or
// retrying sagas, requests and error rates per app, ingress 5xx, dead-letter depth per
// Service Bus subscription, p50/p95/p99 latency per app. KQL over the Log Analytics
// workspace (ContainerAppConsoleLogs: the apps' JSON request lines and the sidecars' logs)
// and Azure Monitor metrics; the resource ids are filled in here.
param location string
param workspaceId string
param serviceBusNamespaceId string
param storefrontAppId string
param webAppId string

var template = loadTextContent('../workbook.json')
var withWorkspace = replace(template, '__WORKSPACE_ID__', workspaceId)
var withServiceBus = replace(withWorkspace, '__SERVICEBUS_ID__', serviceBusNamespaceId)
var withStorefront = replace(withServiceBus, '__STOREFRONT_ID__', storefrontAppId)
var content = replace(withStorefront, '__WEB_ID__', webAppId)

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's resource name must be a GUID.
  name: guid(resourceGroup().id, 'smartcommerce-operations')
  location: location
  kind: 'shared'
  properties: {
    displayName: 'SmartCommerce operations'
    category: 'workbook'
    sourceId: workspaceId
    serializedData: content
    version: '1.0'
  }
}

output id string = workbook.id
