// The apps' user-assigned managed identity: PostgreSQL (Entra ID), Service Bus, Key Vault
// and the registry trust it; no connection strings anywhere.
param location string
param prefix string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}-apps'
  location: location
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
