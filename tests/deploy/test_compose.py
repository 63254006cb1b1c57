"""docker-compose.yml stays consistent with the code it deploys (issue 7: scale-out).

Docker cannot run here, so the file is checked against the code instead:
every connector ``command:`` is parsed by the real CLI (typer/click), every
``UCP_*`` variable names a real setting (or a documented process variable),
the example configuration loads with the real ``Settings``, the registered
search attributes are the ones in ``workflows/search_attributes.py``, ports and
host names agree across services, no service runs as root, and no secret is
written in the file (DESIGN.md invariant 6). When a compose client is
installed, ``docker compose config`` validates the file as well.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import typing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import typer.main
import yaml
from pydantic import BaseModel

from core import logging as ucp_logging
from core import telemetry
from core.settings import (
    CURSOR_SECRET_FILE,
    PAYLOAD_KEY_FILE,
    REDACTION_SALT_FILE,
    SIGNING_FILE,
    Settings,
    load_settings,
)
from merchants.platform_profile import profile_url
from ucp_connector.cli import app
from workflows import search_attributes

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
CONNECTOR_IMAGE = "ucp-connector:local"
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
# Process variables that are not Settings fields: the config file path, logging and tracing switches.
PROCESS_VARIABLES = {"UCP_CONFIG", ucp_logging.LEVEL_ENV, ucp_logging.FORMAT_ENV, telemetry.EXPORTER_ENV}
MASK = "interpolated"
SWITCHES = {"true", "false"}
SECRETISH = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|SALT", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _connector_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in services.items() if spec.get("image") == CONNECTOR_IMAGE}


def _environment(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _leaf(args: list[str]) -> tuple[click.Command, list[str], list[str]]:
    """The click command a ``ucp-connector ARGS`` invocation reaches, its path and its remaining args."""
    command: click.Command = typer.main.get_command(app)
    path: list[str] = []
    rest = list(args)
    while isinstance(command, click.Group):
        assert rest, f"{' '.join(path) or 'ucp-connector'} needs a sub-command"
        name = rest.pop(0)
        sub = command.get_command(click.Context(command), name)
        assert sub is not None, f"`ucp-connector {' '.join([*path, name])}` is not a command"
        command, path = sub, [*path, name]
    return command, path, rest


def _options(spec: dict[str, Any]) -> dict[str, str]:
    """``--name value`` pairs of a service's command (flags map to "")."""
    args = [str(arg) for arg in spec["command"]]
    command, _, rest = _leaf(args)
    flags = {opt for param in command.params if isinstance(param, click.Option) and param.is_flag for opt in param.opts}
    result: dict[str, str] = {}
    iterator = iter(rest)
    for token in iterator:
        if token.startswith("--"):
            result[token] = "" if token in flags else next(iterator)
    return result


def _setting_exists(variable: str) -> bool:
    """``UCP_X`` / ``UCP_A__B`` names a field of Settings (nested with ``__``)."""
    path = variable.removeprefix("UCP_").lower().split("__")
    model: type[BaseModel] = Settings
    for part in path:
        field = model.model_fields.get(part)
        if field is None:
            return False
        # A section may be optional (``OidcSettings | None``): follow the model inside the union.
        for annotation in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                model = annotation
                break
    return True


def _cli_envvars() -> set[str]:
    found: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            found.update([envvar] if isinstance(envvar, str) else list(envvar or []))
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    walk(typer.main.get_command(app))
    return found


def _example_env() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def _interpolated(value: str, env: dict[str, str]) -> str:
    return INTERPOLATION.sub(lambda match: env.get(match.group(1), "x"), value)


def _masked(value: str) -> str:
    """Interpolations replaced by a marker, so a URL around them parses (``${X:?msg}`` holds a ``?``)."""
    return INTERPOLATION.sub(MASK, value)


def test_every_connector_command_is_a_real_cli_invocation(services: dict[str, dict[str, Any]]) -> None:
    """click parses each command exactly as `ucp-connector` would: sub-command, options, values and types."""
    connector = _connector_services(services)
    assert {"keys", "tls", "migrate", "api", "worker", "merchant"} <= set(connector)
    for name, spec in connector.items():
        command, path, rest = _leaf([str(arg) for arg in spec["command"]])
        try:
            command.make_context(" ".join(["ucp-connector", *path]), list(rest), resilient_parsing=False)
        except click.UsageError as error:  # BadParameter, NoSuchOption, MissingParameter, ...
            raise AssertionError(f"service {name}: {error.format_message()}") from error


def test_every_ucp_variable_is_a_setting_or_a_documented_process_variable(services: dict[str, dict[str, Any]]) -> None:
    known_cli = _cli_envvars()
    for name, spec in services.items():
        for variable, value in _environment(spec).items():
            if not variable.startswith("UCP_"):
                continue
            assert variable in PROCESS_VARIABLES or variable in known_cli or _setting_exists(variable), (
                f"service {name}: {variable} is not a setting"
            )
            if variable == ucp_logging.FORMAT_ENV:
                assert value in ucp_logging.FORMATS
            if variable == ucp_logging.LEVEL_ENV:
                ucp_logging._level(value)  # raises for an unknown level


def test_the_example_configuration_loads_with_the_services_environment(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/ucp-connector.toml + the api/worker environment validate as Settings (https merchant, no typos)."""
    env = _example_env()
    for service in ("api", "worker"):
        for variable, value in _environment(services[service]).items():
            monkeypatch.setenv(variable, _interpolated(value, env))
        monkeypatch.setenv("UCP_CONFIG", str(ROOT / "deploy" / "ucp-connector.toml"))
        settings = Settings()
        assert settings.database_url.startswith("postgresql://ucp_service:")
        assert settings.outbound_ca_file is not None and settings.outbound_ca_file.name == "ca.pem"


def test_registered_search_attributes_are_the_ones_in_code(services: dict[str, dict[str, Any]]) -> None:
    setup = services["temporal-setup"]
    pairs = dict(item.split("=", 1) for item in _environment(setup)["SEARCH_ATTRIBUTES"].split())
    # `temporal operator search-attribute create --type` spells KEYWORD as Keyword, KEYWORD_LIST as KeywordList.
    assert pairs == {key.name: key.indexed_value_type.name.title().replace("_", "") for key in search_attributes.ALL}
    script = ROOT / "deploy" / "temporal" / Path(setup["command"][0]).name
    assert '"$SEARCH_ATTRIBUTES"' in script.read_text() or "$SEARCH_ATTRIBUTES" in script.read_text()
    assert any(str(volume).startswith("./deploy/temporal:") for volume in setup["volumes"])


def test_ports_hosts_and_key_paths_agree(services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UCP_CONFIG", str(ROOT / "deploy" / "ucp-connector.toml"))
    settings = Settings()
    api, merchant, worker = _options(services["api"]), _options(services["merchant"]), _options(services["worker"])

    public = urlsplit(settings.public_base_url)
    assert public.scheme == "https" and public.hostname == "api" and str(public.port) == api["--port"]
    assert [str(port) for port in services["api"]["expose"]] == [api["--port"]]

    merchant_base = urlsplit(merchant["--base-url"])
    assert merchant_base.scheme == "https" and merchant_base.hostname == "merchant"
    assert str(merchant_base.port) == merchant["--port"] == str(services["merchant"]["expose"][0])
    assert settings.merchants["reference"].profile_url == f"{merchant['--base-url']}/.well-known/ucp"
    assert merchant["--trust-platform"] == profile_url(settings.public_base_url, "reference")

    host, _, port = settings.temporal.address.partition(":")
    assert host == "temporal" and any(str(entry).endswith(f":{port}") for entry in services["temporal"]["ports"])
    assert _environment(services["temporal-setup"])["TEMPORAL_ADDRESS"] == settings.temporal.address

    # TLS: certificates for exactly the hosts that serve; the CA the connector and the merchant trust.
    tls = _options(services["tls"])
    tls_dir = Path(tls["--tls-dir"])
    issued = [str(arg) for arg in services["tls"]["command"]]
    hosts = [issued[index + 1] for index, arg in enumerate(issued) if arg == "--host"]
    assert sorted(hosts) == ["api", "localhost", "merchant"]
    for options, host_name in ((api, "api"), (merchant, "merchant")):
        assert Path(options["--ssl-certfile"]) == tls_dir / f"{host_name}.pem"
        assert Path(options["--ssl-keyfile"]) == tls_dir / f"{host_name}-key.pem"
    assert settings.outbound_ca_file == tls_dir / "ca.pem"
    assert Path(_environment(services["merchant"])["SSL_CERT_FILE"]) == tls_dir / "ca.pem"

    # Keys: the init service writes where api and worker read.
    keys_dir = Path(_options(services["keys"])["--keys-dir"])
    for service in ("api", "worker"):
        env = _environment(services[service])
        assert Path(env["UCP_KEYS_DIR"]) == keys_dir
        for variable, value in env.items():
            if variable != "UCP_CONFIG":  # the container's path; this test reads the same file from the checkout
                monkeypatch.setenv(variable, _interpolated(value, _example_env()))
        derived = Settings()
        assert derived.redaction_salt_file == keys_dir / REDACTION_SALT_FILE
        assert derived.cursor_secret_file == keys_dir / CURSOR_SECRET_FILE
        assert any(str(volume).split(":")[1] == str(keys_dir) for volume in services[service]["volumes"])
    assert {SIGNING_FILE, PAYLOAD_KEY_FILE} and (keys_dir / SIGNING_FILE).parent == keys_dir

    # The worker publishes nothing but its metrics endpoint.
    metrics_port = worker["--metrics-port"]
    for entry in services["worker"].get("ports", []):
        assert str(entry).rsplit(":", 1)[-1] == metrics_port, entry
    assert [str(port) for port in services["worker"].get("expose", [])] in ([], [metrics_port])


def test_the_codec_server_serves_the_ui_with_authentication_over_https(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16.1: compose wires the codec server to the Temporal UI; it never runs unauthenticated."""
    codec, ui = services["codec-server"], services["temporal-ui"]
    options = _options(codec)
    assert codec["profiles"] == ["codec"], "opt-in: it needs an OIDC provider"
    tls_dir = Path(_options(services["tls"])["--tls-dir"])
    assert Path(options["--ssl-certfile"]) == tls_dir / "localhost.pem"
    assert Path(options["--ssl-keyfile"]) == tls_dir / "localhost-key.pem"
    published = [str(entry) for entry in codec["ports"]]
    assert published == [f"127.0.0.1:{options['--port']}:{options['--port']}"]

    env = _example_env()
    for variable, value in _environment(codec).items():
        monkeypatch.setenv(variable, _interpolated(value, env))
    monkeypatch.setenv("UCP_CODEC_SERVER__OIDC__ISSUER", "https://login.example/realms/ops")  # what .env fills in
    monkeypatch.setenv("UCP_CODEC_SERVER__OIDC__AUDIENCE", "temporal-ui")
    monkeypatch.setenv("UCP_CONFIG", str(ROOT / "deploy" / "ucp-connector.toml"))
    settings = load_settings(codec_server={"host": options["--host"], "port": int(options["--port"])})
    assert settings.codec_server.auth == "oidc" and settings.codec_server.host == "0.0.0.0"  # noqa: S104
    ui_port = str(ui["ports"][0]).rsplit(":", 1)[-1]
    assert settings.codec_allowed_origins == [f"http://127.0.0.1:{ui_port}"] == [settings.temporal.ui_url]

    ui_env = _environment(ui)
    assert ui_env["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    assert ui_env["TEMPORAL_AUTH_PROVIDER_URL"] == codec["environment"]["UCP_CODEC_SERVER__OIDC__ISSUER"]
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert f"TEMPORAL_CODEC_ENDPOINT=https://localhost:{options['--port']}" in example
    monkeypatch.delenv("UCP_CODEC_SERVER__AUTH")
    with pytest.raises(ValueError, match="only allowed on loopback"):
        load_settings(codec_server={"host": options["--host"]})


def test_workers_scale_and_the_api_runs_at_least_once(services: dict[str, dict[str, Any]]) -> None:
    assert "container_name" not in services["worker"] and "container_name" not in services["api"]
    replicas = str(services["worker"]["deploy"]["replicas"])
    assert replicas.isdigit() or INTERPOLATION.fullmatch(replicas)
    assert int(services["api"]["deploy"]["replicas"]) >= 1
    migrate = _environment(services["migrate"])
    assert urlsplit(_masked(migrate["UCP_STORAGE__MIGRATION_DATABASE_URL"])).username == "ucp_owner"
    service_url = urlsplit(_masked(_environment(services["api"])["UCP_STORAGE__DATABASE_URL"]))
    assert service_url.username == migrate["UCP_STORAGE__DATABASE_SERVICE_ROLE"]


def test_no_service_runs_as_root(services: dict[str, dict[str, Any]]) -> None:
    for name, spec in services.items():
        user = str(spec.get("user", ""))
        assert user and user.split(":")[0] not in ("root", "0"), f"service {name} runs as {user or 'the image default'}"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["ucp-connector"]' in dockerfile


def test_no_literal_secret_in_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    """Secret-looking values are interpolations from .env; credentials in URLs too; .env is git-ignored."""
    required: set[str] = set()
    passwords = 0
    for name, spec in services.items():
        for variable, value in _environment(spec).items():
            required.update(INTERPOLATION.findall(value))
            # A switch named after a secret (TEMPORAL_CODEC_PASS_ACCESS_TOKEN) is not one.
            if SECRETISH.search(variable) and not variable.endswith(("_FILE", "_DIR")) and value not in SWITCHES:
                assert INTERPOLATION.fullmatch(value), f"service {name}: {variable} holds a literal value"
            parts = urlsplit(_masked(value)) if "://" in value else None
            if parts is not None and parts.password is not None:
                assert parts.password == MASK, f"service {name}: {variable} has a literal password"
                passwords += 1
    assert passwords >= 2  # the migrate (owner) and the api/worker (service role) URLs were really checked
    example = _example_env()
    assert required - {"TEMPORAL_VERSION", "TEMPORAL_ADMINTOOLS_VERSION", "TEMPORAL_UI_VERSION"} <= set(example)
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_image_installs_every_package(services: dict[str, dict[str, Any]]) -> None:
    """`pip install .` in the Dockerfile sees every package pyproject.toml includes."""
    import tomllib

    includes = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for package in includes:
        name = package.rstrip("*")
        assert re.search(rf"^COPY {name} \./{name}$", dockerfile, flags=re.MULTILINE), f"Dockerfile misses {name}"


@pytest.mark.skipif(
    not (shutil.which("docker-compose") or shutil.which("docker")), reason="no docker compose client installed"
)
def test_compose_client_accepts_the_file(tmp_path: Path) -> None:
    """``docker compose config`` (v2 plugin or v1 docker-compose) with the example .env; no engine needed."""
    candidates = [["docker", "compose"], ["docker-compose"]]
    for client in candidates:
        if shutil.which(client[0]) is None:
            continue
        probe = subprocess.run([*client, "version"], capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            continue
        result = subprocess.run(
            [*client, "--env-file", str(ROOT / ".env.example"), "-f", str(COMPOSE), "config", "-q"],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr
        return
    pytest.skip("no working compose client (the docker CLI here has no compose plugin)")
