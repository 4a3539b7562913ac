// The components compiled into SmartCommerce's daprd: exactly what components/local and
// components/azure use (plus in-memory stores for experiments). Registration mirrors the
// runtime's own cmd/daprd/components files, whose build tags would compile in every
// component of the stable set.
package main

import (
	"github.com/dapr/components-contrib/bindings/cron"
	bindingshttp "github.com/dapr/components-contrib/bindings/http"
	"github.com/dapr/components-contrib/bindings/localstorage"
	bindingspostgres "github.com/dapr/components-contrib/bindings/postgres"
	"github.com/dapr/components-contrib/bindings/smtp"
	"github.com/dapr/components-contrib/configuration/azure/appconfig"
	configpostgres "github.com/dapr/components-contrib/configuration/postgres"
	"github.com/dapr/components-contrib/nameresolution/mdns"
	nrsqlite "github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/components-contrib/pubsub/azure/servicebus/topics"
	pubsubinmemory "github.com/dapr/components-contrib/pubsub/in-memory"
	pubsubredis "github.com/dapr/components-contrib/pubsub/redis"
	"github.com/dapr/components-contrib/secretstores/azure/keyvault"
	"github.com/dapr/components-contrib/secretstores/local/env"
	"github.com/dapr/components-contrib/secretstores/local/file"
	"github.com/dapr/components-contrib/state/azure/cosmosdb"
	stateinmemory "github.com/dapr/components-contrib/state/in-memory"
	pgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	pgv2 "github.com/dapr/components-contrib/state/postgresql/v2"
	stateredis "github.com/dapr/components-contrib/state/redis"
	"github.com/dapr/components-contrib/state/sqlite"
	"github.com/dapr/dapr/pkg/components"
	bindingsLoader "github.com/dapr/dapr/pkg/components/bindings"
	configurationLoader "github.com/dapr/dapr/pkg/components/configuration"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
	stateLoader "github.com/dapr/dapr/pkg/components/state"
)

// Components lists what this daprd can load, for `daprd-components` reporting in set-up.
var Components = []string{
	"state.postgresql (v1, v2)", "state.redis", "state.sqlite", "state.azure.cosmosdb", "state.in-memory",
	"pubsub.redis", "pubsub.azure.servicebus.topics", "pubsub.in-memory",
	"secretstores.local.file", "secretstores.local.env", "secretstores.azure.keyvault",
	"nameresolution.mdns", "nameresolution.sqlite",
	"bindings.cron", "bindings.http", "bindings.smtp", "bindings.localstorage", "bindings.postgresql",
	"configuration.postgresql", "configuration.azure.appconfig",
}

func init() {
	pg := components.Versioning{
		Preferred: components.VersionConstructor{Version: "v2", Constructor: pgv2.NewPostgreSQLStateStore},
		Others:    []components.VersionConstructor{{Version: "v1", Constructor: pgv1.NewPostgreSQLStateStore}},
		Default:   "v1",
	}
	stateLoader.DefaultRegistry.RegisterComponentWithVersions("postgres", pg)
	stateLoader.DefaultRegistry.RegisterComponentWithVersions("postgresql", pg)
	stateLoader.DefaultRegistry.RegisterComponent(stateredis.NewRedisStateStore, "redis")
	stateLoader.DefaultRegistry.RegisterComponent(sqlite.NewSQLiteStateStore, "sqlite", "sqlite3")
	stateLoader.DefaultRegistry.RegisterComponent(cosmosdb.NewCosmosDBStateStore, "azure.cosmosdb")
	stateLoader.DefaultRegistry.RegisterComponent(stateinmemory.NewInMemoryStateStore, "in-memory")

	pubsubLoader.DefaultRegistry.RegisterComponent(pubsubredis.NewRedisStreams, "redis")
	pubsubLoader.DefaultRegistry.RegisterComponent(topics.NewAzureServiceBusTopics, "azure.servicebus.topics", "azure.servicebus")
	pubsubLoader.DefaultRegistry.RegisterComponent(pubsubinmemory.New, "in-memory")

	secretstoresLoader.DefaultRegistry.RegisterComponent(file.NewLocalSecretStore, "local.file")
	secretstoresLoader.DefaultRegistry.RegisterComponent(env.NewEnvSecretStore, "local.env")
	secretstoresLoader.DefaultRegistry.RegisterComponent(keyvault.NewAzureKeyvaultSecretStore, "azure.keyvault")

	configurationLoader.DefaultRegistry.RegisterComponent(configpostgres.NewPostgresConfigurationStore, "postgres", "postgresql")
	configurationLoader.DefaultRegistry.RegisterComponent(appconfig.NewAzureAppConfigurationStore, "azure.appconfig")

	nrLoader.DefaultRegistry.RegisterComponent(mdns.NewResolver, "mdns")
	nrLoader.DefaultRegistry.RegisterComponent(nrsqlite.NewResolver, "sqlite")

	bindingsLoader.DefaultRegistry.RegisterInputBinding(cron.NewCron, "cron")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(bindingshttp.NewHTTP, "http")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(smtp.NewSMTP, "smtp")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(localstorage.NewLocalStorage, "localstorage")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(bindingspostgres.NewPostgres, "postgres", "postgresql")
}
