"""Values placed in a Dapr sidecar URL: every state key, actor id, method name, workflow
instance id or secret name that goes into a URL path goes through `segment`, so `+`, `?`,
`#`, `/`, `%`, spaces and non-ASCII reach daprd as the characters they are (a `+` in an
email address is not a space, a `?` does not end the key)."""

from urllib.parse import quote


def segment(value: str) -> str:
    """`value` percent-encoded as one URL path segment (nothing left unescaped but the
    unreserved characters of RFC 3986)."""
    encoded = quote(value, safe="")
    # `.` and `..` are unreserved but mean "this" and "parent" in a path: clients drop them.
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded
