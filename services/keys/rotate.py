"""Re-encrypt every encrypted value in the store under the first key of ``STORE_ENCRYPTION_KEY``.

Every column of an encrypted type (``EncryptedJSON``, ``EncryptedText``) in the store's metadata
is walked table by table, in primary-key order, a batch at a time, each batch committed: a run
that stops part-way is simply run again (re-encrypting a value already under the first key is
harmless: ``MultiFernet.rotate``). A value still plain (written before encryption) is encrypted.
Each value is written back only if it is still the one read, so the services may keep running:
a value they changed meanwhile is theirs, already under the first key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import (
    Column,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    select,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from services.store import crypto
from services.store.crypto import EncryptedJSON, EncryptedText
from services.store.models import Base

DEFAULT_BATCH = 500


def encrypted_columns(metadata: MetaData = Base.metadata) -> list[tuple[Table, list[Column[Any]]]]:
    """Every table with an encrypted column, and those columns, found by their type."""
    found = []
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, EncryptedJSON | EncryptedText)]
        if columns:
            found.append((table, columns))
    return found


@dataclass
class Counts:
    """What a run did, per ``table.column``."""

    #: Tokens re-encrypted under the first key.
    rotated: dict[str, int] = field(default_factory=dict)
    #: Plain values (written before encryption) now encrypted.
    encrypted: dict[str, int] = field(default_factory=dict)
    #: Tokens already under the first key (a run that stopped and is run again skips them).
    current: dict[str, int] = field(default_factory=dict)
    #: Values changed by someone else between read and write (left as they are: already current).
    changed_meanwhile: dict[str, int] = field(default_factory=dict)
    #: Tokens no configured key opens (left as they are).
    unreadable: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    def add(self, kind: dict[str, int], name: str, n: int = 1) -> None:
        kind[name] = kind.get(name, 0) + n

    def total(self, kind: dict[str, int]) -> int:
        return sum(kind.values())


def _raw(column: Column[Any]) -> TypeEngine[Any]:
    """The column's stored type, beneath the encryption."""
    decorator = column.type
    assert isinstance(decorator, EncryptedJSON | EncryptedText)
    return decorator.impl_instance


def _new_value(column: Column[Any], stored: Any) -> tuple[str, Any] | None:
    """("rotated" | "encrypted", the value to store), ("current", None) for a token already under
    the first key, or None when nothing is held."""
    if stored is None or stored == "":
        return None
    if isinstance(stored, str) and stored.startswith(crypto.TOKEN_PREFIX):
        if crypto.under_first_key(stored):
            return "current", None
        return "rotated", crypto.cipher().rotate(stored.encode()).decode()
    if isinstance(column.type, EncryptedJSON):
        return "encrypted", crypto.encrypt(json.dumps(stored, separators=(",", ":")))
    return "encrypted", crypto.encrypt(str(stored))


def _after(key: list[Column[Any]], last: tuple[Any, ...] | None) -> ColumnElement[bool] | None:
    if last is None:
        return None
    if len(key) == 1:
        return key[0] > last[0]
    return tuple_(*key) > tuple_(*last)


def _batches(engine: Engine, table: Table, columns: list[Column[Any]], size: int
             ) -> Iterator[list[tuple[tuple[Any, ...], dict[str, Any]]]]:
    key = list(table.primary_key.columns)
    raw = [type_coerce(c, _raw(c)).label(c.name) for c in columns]
    last: tuple[Any, ...] | None = None
    while True:
        query = select(*key, *raw).order_by(*key).limit(size)
        after = _after(key, last)
        if after is not None:
            query = query.where(after)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
        if not rows:
            return
        yield [(tuple(row[:len(key)]), {c.name: row._mapping[c.name] for c in columns}) for row in rows]
        last = tuple(rows[-1][:len(key)])


def rotate(engine: Engine, *, batch: int = DEFAULT_BATCH, metadata: MetaData = Base.metadata,
           progress: Callable[[str, int, int], None] | None = None) -> Counts:
    """Re-encrypt every encrypted value under the first configured key; ``progress(table, rows
    done, rows in the table)`` after each batch."""
    counts = Counts()
    for table, columns in encrypted_columns(metadata):
        key = list(table.primary_key.columns)
        with engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(table)).scalar_one()
        done = 0
        for rows in _batches(engine, table, columns, batch):
            with engine.begin() as connection:
                for pk, stored in rows:
                    for column in columns:
                        name = f"{table.name}.{column.name}"
                        try:
                            new = _new_value(column, stored[column.name])
                        except InvalidToken:
                            counts.add(counts.unreadable, name)
                            continue
                        if new is None:
                            continue
                        kind, value = new
                        if kind == "current":
                            counts.add(counts.current, name)
                            continue
                        raw = _raw(column)
                        written = connection.execute(
                            update(table)
                            .where(and_(*(k == v for k, v in zip(key, pk, strict=True))),
                                   *_unchanged(column, raw, stored[column.name], kind))
                            .values({column.name: bindparam(f"new_{column.name}", value, type_=raw)})
                        ).rowcount
                        if written:
                            counts.add(counts.rotated if kind == "rotated" else counts.encrypted, name)
                        else:
                            counts.add(counts.changed_meanwhile, name)
            done += len(rows)
            counts.rows += len(rows)
            if progress is not None:
                progress(table.name, done, total)
    return counts


def _unchanged(column: Column[Any], raw: TypeEngine[Any], stored: Any, kind: str) -> list[ColumnElement[bool]]:
    """The column still holds the token read (compared as text: JSON has no equality on
    PostgreSQL); a plain value (written before encryption, never since) is not compared."""
    if kind != "rotated":
        return []
    as_text = cast(type_coerce(column, raw), Text)
    return [as_text == (json.dumps(stored) if isinstance(column.type, EncryptedJSON) else stored)]
