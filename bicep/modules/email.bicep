// Azure Communication Services email for notifications: an Email Communication Service with
// an Azure-managed domain (<guid>.azurecomm.net, verified by Azure, no DNS to set up), and a
// Communication Services resource linked to it. The sender is DoNotReply@<that domain>
// unless `emailSender` (main.bicep) names another MailFrom of a linked domain.
// Access: Entra ID only (disableLocalAuth: no access keys or connection strings). The apps'
// identity holds "Communication and Email Service Owner" on the ACS resource (the built-in
// role that allows sending email with an Entra token; there is no send-only built-in role).
// The `email` Dapr binding (SMTP) signs in with an Entra application's client secret held in
// Key Vault (smtp-user / smtp-password): ACS SMTP AUTH takes no managed identity.
param prefix string
param identityPrincipalId string
@description('Where ACS keeps data at rest (a geography, not a region).')
param dataLocation string = 'United States'

var suffix = uniqueString(resourceGroup().id)

resource emailService 'Microsoft.Communication/emailServices@2025-05-01' = {
  name: '${prefix}-email-${suffix}'
  location: 'global'
  properties: { dataLocation: dataLocation }
}

resource managedDomain 'Microsoft.Communication/emailServices/domains@2025-05-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

resource communication 'Microsoft.Communication/communicationServices@2025-05-01' = {
  name: '${prefix}-acs-${suffix}'
  location: 'global'
  properties: {
    dataLocation: dataLocation
    linkedDomains: [ managedDomain.id ]
    disableLocalAuth: true
  }
}

// Communication and Email Service Owner.
var emailOwner = '09976791-48a7-449e-bb21-39d1a415f350'

resource appsSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: communication
  name: guid(communication.id, identityPrincipalId, emailOwner)
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', emailOwner)
  }
}

output endpoint string = 'https://${communication.properties.hostName}'
output resourceName string = communication.name
output senderDomain string = managedDomain.properties.mailFromSenderDomain
output defaultSender string = 'DoNotReply@${managedDomain.properties.mailFromSenderDomain}'
