// Optional Azure Front Door (main.bicep `frontDoor`, default off) in front of the two public
// apps: one endpoint for the web pages, one for the storefront API, each with an origin
// group on the Container App's HTTPS address (health probe /health/live), HTTPS only
// (HTTP redirected), and a WAF policy on both endpoints: a per-client rate limit on
// Standard, plus Microsoft's default rule set and bot manager rules on Premium (managed
// rule sets need Premium). The Container Apps keep their own ingress (and
// `ipRestrictions`); to accept only Front Door, restrict ingress to Front Door's published
// backend ranges (service tag AzureFrontDoor.Backend) and check the X-Azure-FDID header.
param prefix string
param webHost string
param storefrontHost string
@allowed(['Standard_AzureFrontDoor', 'Premium_AzureFrontDoor'])
param sku string = 'Standard_AzureFrontDoor'
@description('Requests per minute one client address may make before the WAF blocks it.')
param rateLimitPerMinute int = 2000

var premium = sku == 'Premium_AzureFrontDoor'
var suffix = uniqueString(resourceGroup().id)
var origins = [
  { name: 'web', host: webHost }
  { name: 'storefront', host: storefrontHost }
]

resource waf 'Microsoft.Network/FrontDoorWebApplicationFirewallPolicies@2024-02-01' = {
  // Letters and digits only.
  name: '${replace(prefix, '-', '')}waf'
  location: 'Global'
  sku: { name: sku }
  properties: {
    policySettings: { enabledState: 'Enabled', mode: 'Prevention', requestBodyCheck: 'Enabled' }
    customRules: {
      rules: [
        {
          name: 'RateLimitPerClient'
          priority: 100
          enabledState: 'Enabled'
          ruleType: 'RateLimitRule'
          rateLimitDurationInMinutes: 1
          rateLimitThreshold: rateLimitPerMinute
          // Every address (none is 255.255.255.255): the limit counts per client address.
          matchConditions: [ { matchVariable: 'RemoteAddr', operator: 'IPMatch', negateCondition: true, matchValue: [ '255.255.255.255/32' ] } ]
          action: 'Block'
        }
      ]
    }
    managedRules: {
      managedRuleSets: premium ? [
        { ruleSetType: 'Microsoft_DefaultRuleSet', ruleSetVersion: '2.1', ruleSetAction: 'Block' }
        { ruleSetType: 'Microsoft_BotManagerRuleSet', ruleSetVersion: '1.1' }
      ] : []
    }
  }
}

resource profile 'Microsoft.Cdn/profiles@2024-02-01' = {
  name: '${prefix}-fd'
  location: 'global'
  sku: { name: sku }
  // Live order streams (SSE) close after 230 s on the storefront: within the 240 s maximum.
  properties: { originResponseTimeoutSeconds: 240 }
}

resource endpoints 'Microsoft.Cdn/profiles/afdEndpoints@2024-02-01' = [for o in origins: {
  parent: profile
  name: '${prefix}-${o.name}-${suffix}'
  location: 'global'
  properties: { enabledState: 'Enabled' }
}]

resource originGroups 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = [for o in origins: {
  parent: profile
  name: o.name
  properties: {
    loadBalancingSettings: { sampleSize: 4, successfulSamplesRequired: 3, additionalLatencyInMilliseconds: 50 }
    healthProbeSettings: { probePath: '/health/live', probeRequestType: 'GET', probeProtocol: 'Https', probeIntervalInSeconds: 60 }
    sessionAffinityState: 'Disabled'
  }
}]

resource appOrigins 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = [for (o, i) in origins: {
  parent: originGroups[i]
  name: o.name
  properties: {
    hostName: o.host
    originHostHeader: o.host
    httpPort: 80
    httpsPort: 443
    priority: 1
    weight: 1000
    enabledState: 'Enabled'
    enforceCertificateNameCheck: true
  }
}]

resource routes 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = [for (o, i) in origins: {
  parent: endpoints[i]
  name: o.name
  properties: {
    originGroup: { id: originGroups[i].id }
    supportedProtocols: [ 'Http', 'Https' ]
    patternsToMatch: [ '/*' ]
    forwardingProtocol: 'HttpsOnly'
    httpsRedirect: 'Enabled'
    linkToDefaultDomain: 'Enabled'
    enabledState: 'Enabled'
  }
  dependsOn: [ appOrigins ]
}]

resource wafOnEndpoints 'Microsoft.Cdn/profiles/securityPolicies@2024-02-01' = {
  parent: profile
  name: 'waf'
  properties: {
    parameters: {
      type: 'WebApplicationFirewall'
      wafPolicy: { id: waf.id }
      associations: [
        {
          domains: [ for (o, i) in origins: { id: endpoints[i].id } ]
          patternsToMatch: [ '/*' ]
        }
      ]
    }
  }
}

output webUrl string = 'https://${endpoints[0].properties.hostName}'
output storefrontUrl string = 'https://${endpoints[1].properties.hostName}'
