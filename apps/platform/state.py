"""JSON documents in a Dapr state store with optimistic concurrency (ETags).

Every write names the ETag it read (`first-write` concurrency), so two writers racing on
one key cannot both win: the loser gets `EtagMismatch` and re-reads. Inserts without an
ETag succeed only if the key is absent.
"""

import json
from dataclasses import dataclass
from typing import Any

import grpc
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprGrpcError, DaprInternalError
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType
from dapr.clients.grpc._state import Concurrency, Consistency, StateItem, StateOptions

FIRST_WRITE = StateOptions(concurrency=Concurrency.first_write, consistency=Consistency.strong)


class EtagMismatch(Exception):
    """Someone else wrote the key since it was read (or it exists, on insert)."""


@dataclass(frozen=True)
class Versioned:
    value: Any
    etag: str


@dataclass(frozen=True)
class Upsert:
    key: str
    value: Any
    etag: str | None = None


@dataclass(frozen=True)
class Delete:
    key: str
    etag: str | None = None


CONFLICT_MARKERS = ("etag", "no item was updated")


def _is_conflict(exc: DaprGrpcError | DaprInternalError) -> bool:
    """ETag mismatch, an invalid ETag, or an insert over an existing key.

    The SDK raises DaprGrpcError or DaprInternalError depending on the call, and the
    store reports "possible etag mismatch" or "no item was updated"; read both.
    """
    if isinstance(exc, DaprGrpcError) and exc.code() == grpc.StatusCode.ABORTED:
        return True
    text = str(exc).lower()
    if isinstance(exc, DaprGrpcError):
        text += " " + (exc.details() or "").lower()
    return any(marker in text for marker in CONFLICT_MARKERS)


class JsonStateStore:
    def __init__(self, client: DaprClient, store_name: str) -> None:
        self.client = client
        self.store = store_name

    async def get(self, key: str) -> Versioned | None:
        resp = await self.client.get_state(self.store, key, state_metadata={})
        if not resp.data:
            return None
        return Versioned(json.loads(resp.data), resp.etag)

    async def insert(self, key: str, value: Any) -> None:
        """Create `key`; `EtagMismatch` if it exists already."""
        await self._save(key, value, None)

    async def replace(self, key: str, value: Any, etag: str) -> None:
        await self._save(key, value, etag)

    async def delete(self, key: str, etag: str) -> None:
        try:
            await self.client.delete_state(self.store, key, etag=etag, options=FIRST_WRITE)
        except (DaprGrpcError, DaprInternalError) as exc:
            if _is_conflict(exc):
                raise EtagMismatch(key) from exc
            raise

    async def bulk_upsert(self, items: list[tuple[str, Any]]) -> None:
        """Unconditional writes of many keys in one call (not atomic): for bulk loads only."""
        if items:
            await self.client.save_bulk_state(
                self.store, [StateItem(key=k, value=json.dumps(v)) for k, v in items]
            )

    async def transact(self, ops: list[Upsert | Delete]) -> None:
        """All or nothing; any stale ETag aborts the whole transaction."""
        operations = [
            TransactionalStateOperation(
                key=op.key,
                data=json.dumps(op.value) if isinstance(op, Upsert) else "",
                etag=op.etag,
                operation_type=TransactionOperationType.upsert
                if isinstance(op, Upsert)
                else TransactionOperationType.delete,
            )
            for op in ops
        ]
        try:
            await self.client.execute_state_transaction(self.store, operations)
        except (DaprGrpcError, DaprInternalError) as exc:
            if _is_conflict(exc):
                raise EtagMismatch(",".join(op.key for op in ops)) from exc
            raise

    async def _save(self, key: str, value: Any, etag: str | None) -> None:
        try:
            await self.client.save_state(
                self.store, key, json.dumps(value), etag=etag, options=FIRST_WRITE
            )
        except (DaprGrpcError, DaprInternalError) as exc:
            if _is_conflict(exc):
                raise EtagMismatch(key) from exc
            raise
