"""Edge plumbing every app shares: settings base, logging, HTTP errors, health, Dapr clients.

Not an app and not domain code: it is the adapter layer's common half, so the apps' own
`adapters.py` and `main.py` stay short. Domain modules never import it.
"""
