"""The task form's destination sub-forms are drawn from each kind's config model.

What a user sees stays put (labels, secrets as password inputs, choices,
required fields), and a field given a title in a backend's model shows up in
the form without any Studio change.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal

import httpx
import pytest
from pydantic import Field, SecretStr

from rookdb import Instance
from rookdb.destinations.schema import ConfigModel
from rookdb.studio.task_form import kind_form

# (input name, label, input type, required) per kind, as the Studio showed them before.
EXPECTED = {
    "local": [("path", "Folder", "text", True)],
    "s3": [
        ("bucket", "Bucket", "text", True),
        ("prefix", "Prefix", "text", False),
        ("region", "Region", "text", False),
        ("endpoint_url", "Endpoint URL", "text", False),
        ("access_key_id", "Access key id", "text", False),
        ("secret_access_key", "Secret access key", "password", False),
        ("storage_class", "Storage class", "select", False),
    ],
    "azure": [
        ("container", "Container", "text", True),
        ("prefix", "Prefix", "text", False),
        ("account_name", "Account name", "text", False),
        ("account_key", "Account key", "password", False),
        ("sas_token", "SAS token", "password", False),
        ("connection_string", "Connection string", "password", False),
        ("endpoint_url", "Endpoint URL", "text", False),
    ],
    "gcs": [
        ("bucket", "Bucket", "text", True),
        ("prefix", "Prefix", "text", False),
        ("project", "Project", "text", False),
        ("credentials_json", "Service account key (JSON)", "password", False),
        ("endpoint_url", "Endpoint URL", "text", False),
    ],
    "glacier": [
        ("vault", "Vault", "text", True),
        ("region", "Region", "text", False),
        ("prefix", "Prefix", "text", False),
        ("access_key_id", "Access key id", "text", False),
        ("secret_access_key", "Secret access key", "password", False),
        ("endpoint_url", "Endpoint URL", "text", False),
    ],
    "ftp": [
        ("host", "Host", "text", True),
        ("port", "Port", "number", False),
        ("user", "User", "text", False),
        ("password", "Password", "password", False),
        ("folder", "Folder", "text", False),
        ("tls", "Use TLS (FTPS)", "checkbox", False),
    ],
}
TITLES = {
    "local": "Local folder",
    "s3": "Amazon S3",
    "azure": "Microsoft Azure",
    "gcs": "Google Cloud Storage",
    "glacier": "Amazon Glacier",
    "ftp": "FTP / FTPS",
}
STORAGE_CLASSES = [
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "GLACIER_IR",
    "DEEP_ARCHIVE",
    "REDUCED_REDUNDANCY",
]


class SubForm(HTMLParser):
    """The inputs of one destination <template>: name, label, type, required; and options."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, object]] = {}
        self.options: list[str] = []
        self._label_for: str | None = None
        self._label_text = ""
        self._in_option = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self._label_for, self._label_text = a.get("for"), ""
        elif tag in ("input", "select") and (a.get("id") or "").startswith("dest-__N__-"):
            name = str(a["id"]).removeprefix("dest-__N__-")
            kind = "select" if tag == "select" else a.get("type")
            self.inputs.setdefault(name, {}).update(type=kind, required="required" in a)
            if self._label_for is None:  # a checkbox inside its label
                self._label_for = a["id"]
        elif tag == "option":
            self._in_option = True

    def handle_data(self, data: str) -> None:
        if self._label_for is not None:
            self._label_text += data
        if self._in_option:
            self.options.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_for:
            name = self._label_for.removeprefix("dest-__N__-")
            label = self._label_text.replace("(optional)", "").strip()
            self.inputs.setdefault(name, {})["label"] = label
            self._label_for = None
        elif tag == "option":
            self._in_option = False


@pytest.fixture
def new_task_form(instance: Instance, http: httpx.Client) -> str:
    instance.create_database("shop")
    answer = http.get("/studio/databases/shop/tasks/new")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_every_kind_offers_the_same_inputs_as_before(new_task_form: str) -> None:
    templates = dict(
        re.findall(r'<template id="dest-template-(\w+)">(.*?)</template>', new_task_form, re.S)
    )
    assert list(templates) == list(EXPECTED)
    for kind, expected in EXPECTED.items():
        assert f'<h3 id="dest-__N__-title">{TITLES[kind]}</h3>' in templates[kind]
        form = SubForm()
        form.feed(templates[kind])
        shown = [(n, i["label"], i["type"], i["required"]) for n, i in form.inputs.items()]
        assert shown == expected, kind
        if kind == "s3":
            assert form.options == STORAGE_CLASSES
    offered = re.search(r'<select id="new-destination-kind">(.*?)</select>', new_task_form, re.S)
    assert offered is not None
    assert re.findall(r">([^<]+)</option>", offered.group(1)) == list(TITLES.values())


class ToyConfig(ConfigModel):
    """A destination kind that exists only in this test."""

    title = "Toy store"
    label = "Toy"
    label_field = "shelf"

    kind: Literal["toy"] = "toy"
    shelf: str = Field(title="Shelf", description="Where it goes.", examples=["top"])
    size: Literal["S", "M", "L"] = Field("M", title="Size")
    copies: int = Field(1, title="Copies")
    fragile: bool = Field(False, title="Fragile")
    key: SecretStr | None = Field(None, title="Key")
    api_only: str = ""


def test_a_titled_model_field_is_an_input_without_a_studio_change() -> None:
    form = kind_form(ToyConfig)
    assert (form.kind, form.title, form.label, form.key) == ("toy", "Toy store", "Toy", "shelf")
    shown = [(f.name, f.label, f.kind, f.required, f.placeholder, f.hint) for f in form.fields]
    assert shown == [
        ("shelf", "Shelf", "text", True, "top", "Where it goes."),
        ("size", "Size", "select", False, "", ""),
        ("copies", "Copies", "number", False, "", ""),
        ("fragile", "Fragile", "checkbox", False, "", ""),
        ("key", "Key", "password", False, "", ""),
    ]
    assert form.fields[1].options == ("S", "M", "L")
