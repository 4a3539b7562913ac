// The image a Container App runs now, so `azd provision` after `azd deploy` keeps it instead
// of putting the placeholder back (azd sets SERVICE_<NAME>_RESOURCE_EXISTS once the app
// exists; main.parameters.json maps the storefront's to `appsExist`). Every app runs the
// same image, so one app's answers for all.
param exists bool
param appName string

resource current 'Microsoft.App/containerApps@2024-03-01' existing = if (exists) {
  name: appName
}

output image string = exists ? current.properties.template.containers[0].image : ''
