"""One registry finds every backend by kind or URL scheme; each backend is one module.

A backend module exports its kind, URL schemes, config model, URL parser and
factory (``BACKEND``); the registry imports it only when its kind is used, and
no SDK is imported before a destination of that kind is built.
"""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import get_args

import pytest

from rookdb.destinations import config_from_url, public_config
from rookdb.destinations.config import SECRET_FIELDS, DestinationConfig
from rookdb.destinations.registry import backend, kinds, parse_config, schemes
from rookdb.errors import InvalidInput

from .contract import DestinationContract

SDKS = ("boto3", "botocore", "azure", "google")
HERE = Path(__file__).parent


@pytest.mark.parametrize("kind", kinds())
def test_a_backend_module_says_what_the_registry_says(kind: str) -> None:
    found = backend(kind)
    assert found.kind == kind
    assert found.config.model_fields["kind"].default == kind
    assert set(found.schemes) == {s for s, k in schemes().items() if k == kind}
    assert found is importlib.import_module(f"rookdb.destinations.{kind}").BACKEND


@pytest.mark.parametrize(("scheme", "kind"), sorted(schemes().items()))
def test_every_scheme_parses_to_its_kind(scheme: str, kind: str, tmp_path: Path) -> None:
    url = f"{scheme}://{tmp_path}/run" if kind == "local" else f"{scheme}://place/a/b/run"
    config, leaf = config_from_url(url, {"timeout_seconds": 5})
    assert (config["kind"], leaf, config["timeout_seconds"]) == (kind, "run", 5)


@pytest.mark.parametrize("kind", kinds())
def test_a_model_names_only_its_own_fields(kind: str) -> None:
    model = backend(kind).config
    fields = set(model.model_fields)
    assert set(model.secret_scope) <= fields
    assert model.label_field in fields and model.model_fields[model.label_field].title
    assert model.title and model.label
    assert set(model.secret_fields()) <= SECRET_FIELDS


def test_secret_fields_are_every_models_secrets_and_are_masked() -> None:
    every = {name for kind in kinds() for name in backend(kind).config.secret_fields()}
    assert every == SECRET_FIELDS
    assert {"secret_access_key", "account_key", "credentials_json", "password"} <= every
    masked = public_config({name: "hush" for name in every} | {"bucket": "b"})
    assert masked == {name: "********" for name in every} | {"bucket": "b"}


def test_the_task_model_union_holds_every_registered_model() -> None:
    assert get_args(DestinationConfig) == tuple(backend(kind).config for kind in kinds())


def test_an_unknown_kind_names_the_allowed_ones() -> None:
    for bad in ("dropbox", None, 3):
        with pytest.raises(InvalidInput) as info:
            parse_config({"kind": bad})
        assert info.value.field == "kind"
        assert f"(got {bad!r})" in info.value.message


@pytest.mark.parametrize("kind", kinds())
def test_every_backend_runs_the_contract_suite(kind: str) -> None:
    # Adding a backend means one module, one registry line and one contract subclass.
    path = HERE / f"test_{kind}.py"
    assert path.exists(), f"{kind}: add {path.name} with a DestinationContract subclass"
    module = importlib.import_module(f"{__package__}.test_{kind}")
    suites = [
        c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if issubclass(c, DestinationContract) and c is not DestinationContract
    ]
    assert suites, f"{path.name} runs no DestinationContract subclass"


def _imported_after(script: str) -> dict[str, list[str]]:
    """Run ``script`` in a fresh interpreter; which SDKs and backend modules it imported."""
    probe = textwrap.dedent(script) + textwrap.dedent(
        """
        import json, sys
        print(json.dumps({
            "sdks": sorted(m for m in sys.modules if m.split(".")[0] in SDKS),
            "backends": sorted(
                m.rsplit(".", 1)[1] for m in sys.modules
                if m.rsplit(".", 1)[-1] in KINDS and m.startswith("rookdb.destinations.")
            ),
        }))
        """
    )
    header = f"SDKS = {SDKS!r}\nKINDS = {kinds()!r}\n"
    done = subprocess.run(
        [sys.executable, "-c", header + probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    imported: dict[str, list[str]] = json.loads(done.stdout.splitlines()[-1])
    return imported


def test_help_imports_no_sdk() -> None:
    imported = _imported_after(
        """
        import contextlib, io
        from rookdb.cli.main import run
        with contextlib.redirect_stdout(io.StringIO()):
            assert run(["--help"]) == 0
            assert run(["backup", "--help"]) == 0
        """
    )
    assert imported["sdks"] == []


def test_a_local_destination_imports_only_its_own_module(tmp_path: Path) -> None:
    imported = _imported_after(
        f"""
        from pathlib import Path
        from rookdb.destinations import from_config, from_url
        source = Path({str(tmp_path)!r}) / "file"
        source.write_bytes(b"x")
        destination = from_config({{"kind": "local", "path": {str(tmp_path / "out")!r}}})
        destination.put_file(source, "run/file")
        assert [f.path for f in destination.list()] == ["run/file"]
        from_url({str(tmp_path / "out" / "run")!r})
        """
    )
    assert imported == {"sdks": [], "backends": ["local"]}


def test_a_local_backup_task_and_the_studio_form_import_no_sdk(tmp_path: Path) -> None:
    # The task model needs every kind's config model: their modules load, their SDKs do not.
    imported = _imported_after(
        f"""
        import rookdb
        from rookdb.tasks import BackupTasks
        from rookdb.studio.task_form import KINDS
        from rookdb.destinations import config_from_url
        from rookdb.destinations.config import parse_config
        config, _ = config_from_url("s3://bucket/prefix/run", {{"region": "eu-west-1"}})
        parse_config(config, as_input=True)
        with rookdb.open({str(tmp_path / "data")!r}) as instance:
            instance.create_database("shop").put("users/1", {{"name": "Ann"}})
            service = BackupTasks(instance)
            try:
                task = service.create("shop", {{
                    "full_backup_cron": "0 2 * * *",
                    "destinations": [{{"kind": "local", "path": {str(tmp_path / "out")!r}}}],
                }})
                run = service.backup_now("shop", task["id"], full=True, wait=True)
                assert run["error"] is None, run
            finally:
                service.scheduler.stop()
        """
    )
    assert imported["sdks"] == []
    assert (tmp_path / "out").is_dir()


def test_building_a_cloud_destination_imports_its_sdk() -> None:
    # The other side of the tests above: the check would notice an SDK import.
    imported = _imported_after(
        """
        from rookdb.destinations import from_config
        from_config({"kind": "s3", "bucket": "b", "region": "eu-west-1"}).close()
        """
    )
    assert "boto3" in imported["sdks"] and imported["backends"] == ["s3"]
