//go:build tools

// Keeps the control-plane commands in this module's dependency graph so `go mod tidy`
// records everything `go build github.com/dapr/dapr/cmd/{placement,scheduler}` needs.
package tools

import (
	_ "github.com/dapr/dapr/cmd/placement"
	_ "github.com/dapr/dapr/cmd/scheduler"
)
