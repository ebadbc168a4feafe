"""The slice of OData the calendar API needs: ``$select``, ``$top``/``$skip``, ``$orderby``, ``$expand`` of
single-value extended properties, ``$filter`` (extended properties ``Any``, ``iCalUId``, ``subject``) and
``Prefer`` (``odata.maxpagesize``, ``outlook.timezone``).

Extended property ids (provider-facts §3.3) come in three formats; the name part of the Name form is matched
case-sensitively, everything else (type, GUID, ``Name``/``Id`` keyword, hex ids) case-insensitively; values
are compared case-insensitively. Anything else in ``$filter`` is refused with 400 so calsync never relies on a
filter the sandbox silently ignores.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from calsync.sandbox.microsoft.errors import GraphError
from calsync.sandbox.microsoft.state import Event

_PROP_TYPES = (
    "String|Integer|Boolean|SystemTime|Binary|Double|Float|Short|Long|Currency|Null|Object|CLSID|"
    "ApplicationTime|Error|StringArray|IntegerArray|BinaryArray|SystemTimeArray|CLSIDArray|LongArray|"
    "ShortArray|FloatArray|DoubleArray|CurrencyArray|ApplicationTimeArray|ObjectArray"
)
_NAME_ID = re.compile(
    rf"^\s*({_PROP_TYPES})\s+\{{([0-9a-fA-F-]{{36}})\}}\s+(Name|Id)\s+(\S.*?)\s*$", re.IGNORECASE
)
_TAG_ID = re.compile(rf"^\s*({_PROP_TYPES})\s+(0x[0-9a-fA-F]{{1,4}})\s*$", re.IGNORECASE)


def prop_key(prop_id: str) -> str:
    """A canonical key: case folded except for the property name (§3.3)."""
    prop_id = unquote(prop_id) if "%" in prop_id else prop_id
    m = _NAME_ID.match(prop_id)
    if m:
        kind = m.group(3).lower()
        name = m.group(4) if kind == "name" else m.group(4).lower()
        return f"{m.group(1).lower()} {{{m.group(2).lower()}}} {kind} {name}"
    m = _TAG_ID.match(prop_id)
    if m:
        return f"{m.group(1).lower()} {int(m.group(2), 16):#06x}"
    raise GraphError(
        400,
        "ErrorInvalidProperty",
        f"The extended property id '{prop_id}' is not valid. Use '{{type}} {{guid}} Name {{name}}', "
        "'{type} {guid} Id 0x8012' or '{type} 0x4001'.",
    )


@dataclass
class Query:
    """Parsed OData options of one collection or item request."""

    select: list[str] | None = None
    top: int | None = None
    skip: int = 0
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    expand_props: list[str] | None = None
    predicates: list[Callable[[Event], bool]] = field(default_factory=list)


def _quoted(text: str) -> str:
    return text.replace("''", "'")


_ANY = re.compile(
    r"^singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+"
    r"\1/value\s+(eq|ne)\s+'((?:[^']|'')*)'\s*\)$",
    re.IGNORECASE,
)
_ANY_STRFN = re.compile(
    r"^singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+"
    r"(contains|startswith)\(\s*\1/value\s*,\s*'((?:[^']|'')*)'\s*\)\s*\)$",
    re.IGNORECASE,
)
_FIELD_EQ = re.compile(r"^(iCalUId|subject|isCancelled)\s+eq\s+('((?:[^']|'')*)'|true|false)$", re.IGNORECASE)


def _split_and(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    lowered = text.lower()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and lowered.startswith(" and ", i):
            parts.append(text[start:i].strip())
            i += 5
            start = i
            continue
        i += 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _unsupported_filter(clause: str) -> GraphError:
    return GraphError(
        400,
        "ErrorInvalidUrlQueryFilter",
        f"The sandbox does not support the $filter clause '{clause}'. Supported: "
        "singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...'), iCalUId eq '...', "
        "subject eq '...', isCancelled eq true|false, joined with 'and'.",
    )


def parse_filter(text: str) -> list[Callable[[Event], bool]]:
    preds: list[Callable[[Event], bool]] = []
    for clause in _split_and(text.strip()):
        m = _ANY.match(clause)
        if m:
            key, op, value = prop_key(_quoted(m.group(2))), m.group(3).lower(), _quoted(m.group(4)).lower()

            def any_eq(ev: Event, key: str = key, op: str = op, value: str = value) -> bool:
                stored = ev.extended.get(key)
                if stored is None:
                    return False
                return (stored.lower() == value) == (op == "eq")

            preds.append(any_eq)
            continue
        m = _ANY_STRFN.match(clause)
        if m:
            key, fn, value = prop_key(_quoted(m.group(2))), m.group(3).lower(), _quoted(m.group(4)).lower()

            def any_fn(ev: Event, key: str = key, fn: str = fn, value: str = value) -> bool:
                stored = ev.extended.get(key)
                if stored is None:
                    return False
                return value in stored.lower() if fn == "contains" else stored.lower().startswith(value)

            preds.append(any_fn)
            continue
        m = _FIELD_EQ.match(clause)
        if m:
            name = m.group(1).lower()
            if name == "iscancelled":
                want = m.group(2).lower() == "true"
                preds.append(lambda ev, want=want: ev.is_cancelled == want)  # type: ignore[misc]
            elif m.group(3) is None:
                raise _unsupported_filter(clause)
            elif name == "icaluid":
                uid = _quoted(m.group(3))
                preds.append(lambda ev, uid=uid: ev.ical_uid == uid)  # type: ignore[misc]
            else:
                subj = _quoted(m.group(3)).lower()
                preds.append(lambda ev, subj=subj: ev.subject.lower() == subj)  # type: ignore[misc]
            continue
        raise _unsupported_filter(clause)
    return preds


_EXPAND = re.compile(r"^singleValueExtendedProperties\s*\(\s*\$filter\s*=\s*(.+)\)\s*$", re.IGNORECASE | re.DOTALL)
_ID_EQ = re.compile(r"^id\s+eq\s+'((?:[^']|'')*)'$", re.IGNORECASE)
_ORDER_FIELDS = {
    "start/datetime": "start", "end/datetime": "end", "createddatetime": "created",
    "lastmodifieddatetime": "modified", "subject": "subject",
}


def parse_expand(text: str) -> list[str]:
    """``singleValueExtendedProperties($filter=id eq '...' [or id eq '...'])`` -> canonical property keys."""
    m = _EXPAND.match(text.strip())
    if not m:
        raise GraphError(
            400,
            "ErrorInvalidUrlQuery",
            f"The sandbox supports only $expand=singleValueExtendedProperties($filter=id eq '...'); got '{text}'.",
        )
    keys = []
    for part in re.split(r"\s+or\s+", m.group(1).strip(), flags=re.IGNORECASE):
        idm = _ID_EQ.match(part.strip())
        if not idm:
            raise GraphError(400, "ErrorInvalidUrlQuery", f"Cannot expand with the filter '{part}': use id eq '...'.")
        keys.append(prop_key(_quoted(idm.group(1))))
    return keys


def parse_query(params: dict[str, str], *, max_top: int = 1000) -> Query:
    """Parse the ``$`` options (keys already lower-cased by the router)."""
    q = Query()
    if "$select" in params:
        q.select = [s.strip() for s in params["$select"].split(",") if s.strip()]
    for name in ("$top", "$skip"):
        if name in params:
            try:
                value = int(params[name])
                if value < 0:
                    raise ValueError
            except ValueError:
                raise GraphError(
                    400, "BadRequest", f"Invalid value '{params[name]}' for {name}: use an integer >= 0."
                ) from None
            if name == "$top":
                if value > max_top:
                    raise GraphError(400, "BadRequest", f"$top must be at most {max_top}.")
                q.top = value
            else:
                q.skip = value
    if "$orderby" in params:
        for part in params["$orderby"].split(","):
            bits = part.strip().split()
            fieldname = _ORDER_FIELDS.get(bits[0].lower()) if bits else None
            if fieldname is None or (len(bits) > 1 and bits[1].lower() not in ("asc", "desc")) or len(bits) > 2:
                raise GraphError(
                    400, "BadRequest",
                    f"Unsupported $orderby '{part.strip()}'. Supported: {', '.join(_ORDER_FIELDS)} [asc|desc].",
                )
            q.orderby.append((fieldname, len(bits) > 1 and bits[1].lower() == "desc"))
    if "$expand" in params:
        q.expand_props = parse_expand(params["$expand"])
    if "$filter" in params:
        q.predicates = parse_filter(params["$filter"])
    if "$search" in params or "$count" in params:
        raise GraphError(400, "BadRequest", "The sandbox does not support $search or $count on events.")
    return q


@dataclass
class Prefer:
    maxpagesize: int | None = None
    timezone: str | None = None


_PREFER = re.compile(r'(odata\.maxpagesize|outlook\.timezone)\s*=\s*("([^"]*)"|[^,;\s]+)', re.IGNORECASE)


def parse_prefer(header: str | None) -> Prefer:
    out = Prefer()
    if not header:
        return out
    for m in _PREFER.finditer(header):
        value = m.group(3) if m.group(3) is not None else m.group(2)
        if m.group(1).lower() == "odata.maxpagesize":
            try:
                out.maxpagesize = max(1, int(value))
            except ValueError:
                raise GraphError(
                    400, "BadRequest", f"Prefer: odata.maxpagesize must be an integer, got '{value}'."
                ) from None
        else:
            out.timezone = value
    return out
