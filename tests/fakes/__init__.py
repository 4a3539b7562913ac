"""In-memory implementations of our own ports (never of Dapr itself)."""
