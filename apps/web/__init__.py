"""web: the server-rendered web front end (shop, account, staff and admin pages).

A client of the storefront API like any other (through its own Dapr sidecar's service
invocation): it never reads another app's store or calls an internal app."""
