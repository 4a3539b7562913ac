//go:build tools

// Keeps the CLI in this module's dependency graph for `go mod tidy`.
package tools

import _ "github.com/dapr/cli"
