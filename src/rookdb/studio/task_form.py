"""The backup task form: HTML form fields <-> the task JSON the tasks service validates.

No validation happens here: the service rejects bad input with `InvalidInput`
naming a field, and `error_slot` maps that field back to the input it came from.
Each destination sub-form is drawn from its kind's config model (`kind_form`):
labels, hints, placeholders, secrets and choices are that model's field metadata.
Secret fields are never sent back to the browser; left blank on edit, they keep
the stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic.fields import FieldInfo

from rookdb.destinations.config import SECRET_FIELDS
from rookdb.destinations.registry import backend, kinds
from rookdb.destinations.schema import ConfigModel, choices, is_secret
from rookdb.tasks.upload import MASK


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a destination sub-form."""

    name: str
    label: str
    kind: str = "text"  # text | password | number | checkbox | select
    required: bool = False
    placeholder: str = ""
    hint: str = ""
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DestinationKind:
    """A destination kind as the form shows it."""

    kind: str
    title: str
    label: str  # how a generated task name calls it, e.g. "S3"
    key: str  # the field that names it in a generated task name
    fields: tuple[Field, ...] = field(default_factory=tuple)


def kind_form(model: type[ConfigModel]) -> DestinationKind:
    """A kind's sub-form, drawn from its config model: every field with a title is an input."""
    kind = str(model.model_fields["kind"].default)
    inputs = tuple(
        _input(name, info) for name, info in model.model_fields.items() if info.title is not None
    )
    return DestinationKind(kind, model.title, model.label, model.label_field, inputs)


def _input(name: str, info: FieldInfo) -> Field:
    options = choices(info)
    if is_secret(info):
        kind = "password"
    elif options:
        kind = "select"
    elif info.annotation is bool:
        kind = "checkbox"
    elif info.annotation is int:
        kind = "number"
    else:
        kind = "text"
    examples = info.examples or []
    return Field(
        name,
        str(info.title),
        kind,
        required=info.is_required(),
        placeholder=str(examples[0]) if examples else "",
        hint=info.description or "",
        options=options,
    )


KINDS = {kind: kind_form(backend(kind).config) for kind in kinds()}

TASK_FIELDS = (
    "name",
    "type",
    "full_backup_cron",
    "incremental_backup_cron",
    "timezone",
    "preferred_node",
    "compression",
)


@dataclass
class TaskForm:
    """What the form shows: plain values per input, and the destinations as sub-forms."""

    values: dict[str, str]
    destinations: list[dict[str, Any]]  # {"n", "kind", "values", "existing"}
    has_encryption_key: bool = False

    @property
    def next_index(self) -> int:
        """The number the next added destination sub-form gets."""
        return max((d["n"] for d in self.destinations), default=-1) + 1


def blank_form() -> TaskForm:
    """A new task: daily full at 02:00, incremental every 6 hours, one local folder to fill in."""
    values = {
        "name": "",
        "type": "backup",
        "full_backup_cron": "0 2 * * *",
        "incremental_backup_cron": "0 */6 * * *",
        "timezone": "UTC",
        "preferred_node": "",
        "compression": "zstd",
        "keep_full_chains": "",
        "max_age_days": "",
    }
    return TaskForm(values, [{"n": 0, "kind": "local", "values": {}, "existing": ""}])


def form_from_task(task: Mapping[str, Any]) -> TaskForm:
    """The edit form of a task as the API shows it (secrets are already masked there)."""
    values = {k: "" if task.get(k) is None else str(task.get(k)) for k in TASK_FIELDS}
    retention = task.get("retention") or {}
    for key in ("keep_full_chains", "max_age_days"):
        value = retention.get(key)
        values[key] = "" if value is None else _number_text(value)
    destinations = []
    for n, config in enumerate(task.get("destinations") or []):
        shown = {
            k: ("" if v is None else str(v)) if not isinstance(v, bool) else ("on" if v else "")
            for k, v in config.items()
            if k not in SECRET_FIELDS and k != "kind"
        }
        destinations.append(
            {"n": n, "kind": config.get("kind"), "values": shown, "existing": str(n)}
        )
    return TaskForm(values, destinations, bool(task.get("has_encryption_key")))


def form_from_post(form: Mapping[str, Any]) -> TaskForm:
    """Re-show what the user sent (secrets dropped), for a form with errors."""
    values = {k: str(form.get(k, "")) for k in (*TASK_FIELDS, "keep_full_chains", "max_age_days")}
    destinations = []
    for n in _destination_numbers(form):
        kind = str(form.get(f"dest-{n}-kind", ""))
        spec = KINDS.get(kind)
        if spec is None:
            continue
        shown = {
            f.name: str(form.get(f"dest-{n}-{f.name}", ""))
            for f in spec.fields
            if f.kind != "password"
        }
        existing = str(form.get(f"dest-{n}-existing", ""))
        destinations.append({"n": n, "kind": kind, "values": shown, "existing": existing})
    return TaskForm(values, destinations, bool(form.get("has_encryption_key")))


def payload_from_post(
    form: Mapping[str, Any], stored: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[int]]:
    """The task JSON for the service, and the form number of each destination in it.

    `stored` is the task as kept (secrets included) when editing: blank secrets keep it.
    """
    payload: dict[str, Any] = {}
    for key in TASK_FIELDS:
        value = str(form.get(key, "")).strip()
        if value or key == "name":
            payload[key] = value
    payload["preferred_node"] = payload.get("preferred_node") or None
    for key in ("full_backup_cron", "incremental_backup_cron"):
        payload[key] = payload.get(key) or None
    retention: dict[str, Any] = {}
    for key in ("keep_full_chains", "max_age_days"):
        value = str(form.get(key, "")).strip()
        if value:
            retention[key] = value
    payload["retention"] = retention
    # The service keeps the stored key when none is sent, and removes it on "".
    key = str(form.get("encryption_key", ""))
    if form.get("remove_encryption_key"):
        payload["encryption_key"] = ""
    elif key:
        payload["encryption_key"] = key
    stored_destinations = list((stored or {}).get("destinations") or [])
    destinations: list[dict[str, Any]] = []
    numbers: list[int] = []
    for n in _destination_numbers(form):
        kind = str(form.get(f"dest-{n}-kind", ""))
        existing = str(form.get(f"dest-{n}-existing", ""))
        previous: Mapping[str, Any] = {}
        if existing.isdigit() and int(existing) < len(stored_destinations):
            previous = stored_destinations[int(existing)]
        destinations.append(destination_from_fields(kind, form, f"dest-{n}-", previous))
        numbers.append(n)
    payload["destinations"] = destinations
    return payload, numbers


def destination_from_fields(
    kind: str, form: Mapping[str, Any], prefix: str = "", previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One destination config from its sub-form; a blank secret of a stored destination is
    sent as the mask, so the core decides whether the stored one may still be used."""
    config: dict[str, Any] = {"kind": kind}
    spec = KINDS.get(kind)
    if spec is None:
        return config
    same_kind = previous is not None and previous.get("kind") == kind
    for f in spec.fields:
        raw = form.get(prefix + f.name)
        if f.kind == "checkbox":
            config[f.name] = bool(raw)
            continue
        value = "" if raw is None else str(raw).strip()
        if value:
            config[f.name] = value
        elif f.kind == "password" and same_kind and previous and previous.get(f.name):
            config[f.name] = MASK
    return config


def error_slot(field_path: str | None, numbers: list[int]) -> str:
    """The form input a service error points at: 'destinations.1.bucket' -> 'dest-3-bucket'."""
    if not field_path:
        return "form"
    parts = field_path.split(".")
    if parts[0] == "retention" and len(parts) > 1:
        return parts[1]
    if parts[0] == "destinations":
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(numbers):
            n = numbers[int(parts[1])]
            return f"dest-{n}-{parts[2]}" if len(parts) > 2 else f"dest-{n}"
        return "destinations"
    return parts[0]


def _destination_numbers(form: Mapping[str, Any]) -> list[int]:
    numbers = set()
    for key in form:
        if key.startswith("dest-") and key.endswith("-kind"):
            middle = key[len("dest-") : -len("-kind")]
            if middle.isdigit():
                numbers.add(int(middle))
    return sorted(numbers)


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
