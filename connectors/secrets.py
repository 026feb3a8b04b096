"""Secret options: how a config declares them, resolves `env:VAR_NAME`, and keeps them out of messages."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from connectors.errors import ConnectorError

REDACTED = "***"


def secret_field(**kwargs) -> Any:
    """Declare a secret config field. Values may be given as `env:VAR_NAME`."""
    extra = kwargs.pop("json_schema_extra", {}) or {}
    return Field(json_schema_extra={**extra, "secret": True}, **kwargs)


def resolve_secret(value: str | SecretStr | None) -> str | None:
    """The secret's real value: `env:VAR_NAME` reads the environment variable."""
    if value is None:
        return None
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(raw, str) and raw.startswith("env:"):
        var = raw[4:]
        if var not in os.environ:
            raise ConnectorError(f"a secret is configured as env:{var} but {var} is not set")
        return os.environ[var]
    return raw


def is_secret(info) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("secret"))


def nested_models(annotation) -> list[type[BaseModel]]:
    """Pydantic models inside a field's type (Optional[X], X | Y, list[X])."""
    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(nested_models(arg))
    return found


def model_secret_fields(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        if is_secret(info):
            names.append(prefix + name)
        for sub in nested_models(info.annotation):
            names.extend(model_secret_fields(sub, f"{prefix}{name}."))
    return names


def secret_values(model: BaseModel) -> set[str]:
    values: set[str] = set()
    for name, info in type(model).model_fields.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        if is_secret(info) or isinstance(value, SecretStr):
            values |= _value_and_env_target(value)
        for sub in _sub_models(value):
            values |= secret_values(sub)
    # "env:NAME" itself is not secret; only what it points to is.
    return {v for v in values if not v.startswith("env:") and len(v) >= 4}


def _value_and_env_target(value: Any) -> set[str]:
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(raw, str) or not raw:
        return set()
    if raw.startswith("env:") and os.environ.get(raw[4:]):
        return {raw, os.environ[raw[4:]]}
    return {raw}


def _sub_models(value: Any) -> list[BaseModel]:
    """The models a field's value holds: itself, or the models in a list or tuple of them."""
    if isinstance(value, BaseModel):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, BaseModel)]
    return []


def raw_secret_strings(config: dict) -> set[str]:
    """Best effort, before validation: values of keys that look secret, and what env: points to."""
    out: set[str] = set()

    def walk(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if isinstance(v, str) and any(w in k.lower() for w in ("secret", "token", "password", "key")):
                    if v.startswith("env:"):
                        if os.environ.get(v[4:]):
                            out.add(os.environ[v[4:]])
                    elif len(v) >= 4:
                        out.add(v)
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(config)
    return out


def redact(text: str, secrets: Iterable[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        if s:
            text = text.replace(s, REDACTED)
    return text
