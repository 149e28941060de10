"""The base of the generated models and the generic JSON → model conversion."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

_EXTRA = "__nairi_extra__"


class Model(msgspec.Struct, kw_only=True):
    """Base of every model: attribute access, `repr`, equality, `to_dict()`.

    Unknown server fields are kept in `extra` (models that allow them); they come back
    flattened in `to_dict()`.
    """

    _nested: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """The wire form: JSON-compatible values, unknown fields included."""
        out = _flatten(msgspec.to_builtins(self))
        assert isinstance(out, dict)
        return out


def _flatten(value: Any) -> Any:
    if isinstance(value, dict):
        extra = value.pop(_EXTRA, None)
        out = {k: _flatten(v) for k, v in value.items()}
        if extra:
            out.update(extra)
        return out
    if isinstance(value, list):
        return [_flatten(v) for v in value]
    return value


def _attach_extra(obj: Any, raw: Any) -> None:
    """Fills `extra` of every model in `obj` from the raw JSON it came from."""
    if isinstance(obj, Model):
        if not isinstance(raw, dict):
            return
        fields = obj.__struct_fields__
        if "extra" in fields:
            known = set(obj.__struct_encode_fields__)
            tag = obj.__struct_config__.tag_field
            obj.extra = {k: v for k, v in raw.items() if k not in known and k != tag}
        for name in obj._nested:
            wire = obj.__struct_encode_fields__[fields.index(name)]
            _attach_extra(getattr(obj, name), raw.get(wire))
    elif isinstance(obj, list) and isinstance(raw, list):
        for item, raw_item in zip(obj, raw):
            _attach_extra(item, raw_item)


def decode_value(raw: Any, type_: Any) -> Any:
    """A model (or list of models) from already-decoded JSON."""
    if type_ is None:
        return None
    obj = msgspec.convert(raw, type_)
    _attach_extra(obj, raw)
    return obj


def decode(data: bytes, type_: Any) -> Any:
    """A model (or list of models) from the JSON bytes of the native module."""
    return decode_value(msgspec.json.decode(data), type_)
