"""The docker-compose setup, checked without Docker.

Docker cannot run here, so the file is checked for what ``docker compose up`` relies on: the
services and their commands, dependencies, healthchecks, volumes and ports; the wiring of the dev
and prod deployments against the project itself (as ``deploy/serve.py`` wires them);
Airflow options that exist; every variable defined in ``.env.example``; the Dockerfile. The
database init script runs for real against PostgreSQL, and the init service's shell against a
stand-in ``airflow``. When ``docker compose`` is installed, its own ``config`` check runs too.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import pytest
import yaml
from cryptography.fernet import Fernet
from sqlalchemy.engine import URL, make_url

from include.bundles.deployer import deployment_folder

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
INIT_SCRIPT = REPO / "docker" / "postgres" / "init-databases.sh"
REQUIREMENTS = REPO / "requirements.txt"

DEPLOYMENTS = ("dev", "prod")
# Each Airflow component and the arguments of `airflow` that start it.
COMPONENTS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    "worker": ["celery", "worker"],
}
# What each component's healthcheck must ask about.
HEALTH_PROBES = {
    "api-server": ("/api/v2/monitor/health",),
    "scheduler": (":8974/health", "--job-type SchedulerJob"),
    "dag-processor": ("--job-type DagProcessorJob",),
    "triggerer": ("--job-type TriggererJob",),
    "worker": ("inspect ping",),
}
INFRASTRUCTURE = ("postgres", "redis", "mailpit")
# Services that run once and exit; every other one runs for good.
ONE_SHOT = tuple(f"{d}-init" for d in DEPLOYMENTS)
DEFAULT_HOST_PORTS = {"dev-api-server": 8080, "prod-api-server": 8081, "mailpit": 8025}
BUNDLE_CLASS = "mes_dag_bundle.ActiveReleaseBundle"
DATABASE_SETTINGS = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND")
SECRETS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
)
# A compose reference: $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME:?error}... or $NAME.
_REFERENCE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)"
)
_CREATE_DATABASE = re.compile(
    r'^create_database\s+"\$\{(\w+):\?[^}]*\}"\s+"\$\{(\w+):\?[^}]*\}"\s+"\$\{(\w+):\?[^}]*\}"',
    re.MULTILINE,
)


# -- reading the files ---------------------------------------------------------------------------


def parse_env_file(path: Path) -> dict[str, str]:
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path.name}:{number}: not NAME=value"
        assert re.fullmatch(r"[A-Za-z_]\w*", name), f"{path.name}:{number}: bad name {name!r}"
        assert name not in values, f"{path.name}:{number}: {name} is defined twice"
        values[name] = value
    return values


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """What compose makes of a value, with ``variables`` as the env file."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg, value = match.group("op"), match.group("arg"), variables.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise AssertionError(f"compose would refuse to start: {name} is not set ({arg})")
        if (op == ":-" and not value) or (op == "-" and value is None):
            return arg
        return value or ""

    return _REFERENCE.sub(substitute, text)


def references(text: str) -> Iterator[tuple[str, str | None]]:
    """(variable, operator) of every reference in ``text``."""
    for match in _REFERENCE.finditer(text):
        if match.group(0) != "$$":
            yield match.group("name") or match.group("bare"), match.group("op")


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool

    @property
    def is_bind(self) -> bool:
        return self.source.startswith((".", "/", "~"))


def mounts(service: Mapping[str, Any]) -> list[Mount]:
    found = []
    for volume in service.get("volumes", []):
        if isinstance(volume, Mapping):
            found.append(
                Mount(volume["source"], volume["target"], bool(volume.get("read_only", False)))
            )
        else:
            source, target, *mode = volume.split(":")
            found.append(Mount(source, target, "ro" in "".join(mode).split(",")))
    return found


def command_args(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    declared = service.get("depends_on", {})
    if isinstance(declared, list):
        return dict.fromkeys(declared, "service_started")
    return {
        name: (spec or {}).get("condition", "service_started") for name, spec in declared.items()
    }


def healthcheck_text(service: Mapping[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test", [])
    return test if isinstance(test, str) else " ".join(test)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    assert ENV_EXAMPLE.is_file(), f"{ENV_EXAMPLE} is missing"
    return parse_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def environments(services, env_example) -> dict[str, dict[str, str]]:
    """Each service's environment as compose would set it from .env.example."""
    resolved = {}
    for name, service in services.items():
        declared = service.get("environment", {})
        if isinstance(declared, list):
            declared = dict(item.partition("=")[::2] for item in declared)
        resolved[name] = {
            key: interpolate(str(value), env_example) for key, value in declared.items()
        }
    return resolved


def airflow_services(deployment: str) -> list[str]:
    return [f"{deployment}-{component}" for component in COMPONENTS]


def host_ports(service: Mapping[str, Any], variables: Mapping[str, str]) -> list[tuple[str, int]]:
    """(host address, host port) of each published port."""
    published = []
    for port in service.get("ports", []):
        if isinstance(port, Mapping):
            published.append((port.get("host_ip", "0.0.0.0"), int(port["published"])))
            continue
        parts = interpolate(str(port), variables).split(":")
        assert len(parts) >= 2, f"port {port!r} publishes no fixed host port"
        address = parts[0] if len(parts) == 3 else "0.0.0.0"
        published.append((address, int(parts[-2])))
    return published


def container_port(service: Mapping[str, Any]) -> int:
    (port,) = service["ports"]
    return int(str(port).rsplit(":", 1)[-1].split("/")[0])


# -- services, images, commands ------------------------------------------------------------------


def test_every_service_of_the_system_is_defined(services) -> None:
    expected = set(INFRASTRUCTURE) | {
        f"{d}-{c}" for d in DEPLOYMENTS for c in [*COMPONENTS, "init"]
    }
    missing = sorted(expected - set(services))
    assert not missing, f"docker-compose.yaml lacks the services {missing}"


def test_images_are_pinned_and_airflow_services_build_the_dockerfile(services) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        if name.startswith(tuple(f"{d}-" for d in DEPLOYMENTS)):
            build = service.get("build")
            assert build, f"{name} does not build the project's image"
            build = {"context": build} if isinstance(build, str) else build
            dockerfile = REPO / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
            assert dockerfile.resolve() == DOCKERFILE, f"{name} builds {dockerfile}"
        else:
            assert image, f"{name} has neither an image nor a build"
        if image:
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag not in ("", "latest"), f"{name}: image {image!r} is not pinned to a tag"
            if "build" not in service:
                assert re.search(r"\d+\.\d+", tag), f"{name}: {image!r} names no release (x.y)"


def test_each_airflow_component_runs_its_command(services) -> None:
    for deployment in DEPLOYMENTS:
        for component, args in COMPONENTS.items():
            name = f"{deployment}-{component}"
            assert command_args(services[name]) == ["airflow", *args], (
                f"{name} runs {command_args(services[name])}, not `airflow {' '.join(args)}`"
            )
        init = " ".join(command_args(services[f"{deployment}-init"]))
        assert "airflow db migrate" in init, f"{deployment}-init does not run `airflow db migrate`"


def run_init(services, environments, deployment: str, folder: Path, **env: str) -> str:
    """A deployment's init command, run here with a stand-in ``airflow`` recording its arguments."""
    stand_in = folder / "bin" / "airflow"
    stand_in.parent.mkdir(parents=True, exist_ok=True)
    stand_in.write_text(f'#!/bin/sh\necho "$@" >> {folder / "airflow-calls"}\n')
    stand_in.chmod(0o755)
    command = [part.replace("$$", "$") for part in command_args(services[f"{deployment}-init"])]
    path = [str(stand_in.parent), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    wanted = ("MES_REGISTER_DEPLOYMENT", "MES_ALERT_RECIPIENTS")
    env = {
        **{k: v for k, v in environments[f"{deployment}-init"].items() if k in wanted},
        "PATH": os.pathsep.join(path),
        "PYTHONPATH": str(REPO),
        "MES_HOME": str(folder / "mes"),
        **env,
    }
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{deployment}-init failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def test_init_services_migrate_and_write_the_admin_password(
    services, environments, tmp_path
) -> None:
    password = 'pass "word" \\ 1'
    for deployment in DEPLOYMENTS:
        folder = tmp_path / deployment
        passwords = folder / "auth" / "passwords.json"
        run_init(
            services,
            environments,
            deployment,
            folder,
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
            AIRFLOW_ADMIN_PASSWORD=password,
            AIRFLOW_CONN_DEPLOYER_DB=f"sqlite:///{tmp_path / 'deployer.sqlite'}",
        )
        calls = (folder / "airflow-calls").read_text().splitlines()
        assert calls == ["db migrate"], f"{deployment}-init ran airflow {calls}"
        assert json.loads(passwords.read_text()) == {"admin": password}
        assert passwords.stat().st_mode & 0o077 == 0, "the passwords file is readable by others"


def test_prod_init_registers_prod_with_the_deployer(services, environments, tmp_path) -> None:
    """Without it, dev's first bundle_release would fail: "no deployment named 'prod'"."""
    from include.bundles.deployer import Deployer

    assert environments["prod-init"].get("MES_REGISTER_DEPLOYMENT") == "prod"
    assert "MES_REGISTER_DEPLOYMENT" not in environments["dev-init"]
    deployer_db = f"sqlite:///{tmp_path / 'deployer.sqlite'}"
    for attempt in ("first", "second"):  # a restarted stack runs it again
        run_init(
            services,
            environments,
            "prod",
            tmp_path / attempt,
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(tmp_path / "passwords.json"),
            AIRFLOW_ADMIN_PASSWORD="admin",
            AIRFLOW_CONN_DEPLOYER_DB=deployer_db,
        )
    with Deployer.open(deployer_db, tmp_path / "store") as deployer:
        status = deployer.status("prod")
    assert status.active_bundle_id is None
    assert status.settings["connections"]["mes_db"] == "mes_db"
    assert status.history == []


# -- dependencies and healthchecks ---------------------------------------------------------------


def test_dependencies_exist_wait_for_readiness_and_have_no_cycle(services) -> None:
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in services, f"{name} depends on {dependency}, which is not defined"
            if condition == "service_healthy":
                assert healthcheck_text(services[dependency]), (
                    f"{name} waits for {dependency} to be healthy, but it has no healthcheck"
                )
            if condition == "service_completed_successfully":
                assert dependency in ONE_SHOT, f"{name} waits for {dependency} to exit"
    for name in ONE_SHOT:
        restart = str(services[name].get("restart", "no"))
        assert restart == "no", f"{name} must run once, but restarts ({restart})"
    for deployment in DEPLOYMENTS:
        assert depends_on(services[f"{deployment}-init"]).get("postgres") == "service_healthy"
        for name in airflow_services(deployment):
            wanted = {
                f"{deployment}-init": "service_completed_successfully",
                "postgres": "service_healthy",
                "redis": "service_healthy",
            }
            actual = depends_on(services[name])
            wrong = {k: actual.get(k) for k, v in wanted.items() if actual.get(k) != v}
            assert not wrong, f"{name} should wait for {wanted}; it has {wrong}"

    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "visiting", f"dependency cycle: {' -> '.join([*path, name])}"
        state[name] = "visiting"
        for dependency in depends_on(services[name]):
            visit(dependency, [*path, name])
        state[name] = "done"

    for name in services:
        visit(name, [])


def test_long_running_services_have_healthchecks(services, environments) -> None:
    for name, service in services.items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck") or {}
        test = check.get("test")
        assert test, f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name}'s healthcheck is disabled"
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck {test} runs no command"
            assert len(test) > 1, f"{name}: healthcheck {test} runs no command"
    for deployment in DEPLOYMENTS:
        for component, probes in HEALTH_PROBES.items():
            name = f"{deployment}-{component}"
            text = healthcheck_text(services[name])
            assert any(p in text for p in probes), f"{name}'s healthcheck does not probe {probes}"
            if ":8974/health" in text:
                enabled = environments[name].get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "")
                assert enabled.lower() == "true", f"{name} probes 8974 without enabling it"


def test_workers_can_be_scaled(services) -> None:
    for deployment in DEPLOYMENTS:
        worker = services[f"{deployment}-worker"]
        assert "container_name" not in worker, f"{deployment}-worker: container_name stops --scale"
        assert not worker.get("ports"), f"{deployment}-worker publishes ports: --scale would clash"


# -- volumes ---------------------------------------------------------------------------------------


def test_named_volumes_are_declared_and_bind_mounts_exist(compose, services) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for mount in mounts(service):
            if mount.is_bind:
                assert (REPO / mount.source).exists(), f"{name} mounts {mount.source}: no such path"
            else:
                assert mount.source in declared, f"{name} uses volume {mount.source}, undeclared"


def _volume_at(service: Mapping[str, Any], target: str) -> Mount | None:
    return next((m for m in mounts(service) if m.target.rstrip("/") == target.rstrip("/")), None)


def test_each_deployment_shares_its_files_between_its_components(services, environments) -> None:
    airflow_home = re.search(r"AIRFLOW_HOME=(\S+)", DOCKERFILE.read_text()).group(1)
    homes = {}
    for deployment in DEPLOYMENTS:
        names = airflow_services(deployment)
        for what, target in (
            ("MES_HOME", environments[names[0]]["MES_HOME"]),
            ("the task logs", f"{airflow_home}/logs"),
        ):
            found = {n: _volume_at(services[n], target) for n in names}
            lacking = [n for n, m in found.items() if m is None or m.is_bind]
            assert not lacking, f"{lacking} do not mount a volume at {target} ({what})"
            volumes = {m.source for m in found.values()}
            assert len(volumes) == 1, f"{deployment}'s components mount {volumes} for {what}"
            homes.setdefault(what, {})[deployment] = volumes.pop()
        for name in names:
            assert environments[name]["MES_HOME"] == environments[names[0]]["MES_HOME"]
        # The simple auth manager opens its passwords file for writing: the api-server mounts the
        # volume the init service wrote it to, read-write.
        folder = str(
            PurePosixPath(
                environments[f"{deployment}-api-server"][
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
                ]
            ).parent
        )
        api = _volume_at(services[f"{deployment}-api-server"], folder)
        init = _volume_at(services[f"{deployment}-init"], folder)
        assert (api and api.source, api and api.read_only) == (init and init.source, False), (
            f"{deployment}: the api-server and the init service do not share {folder} read-write"
        )
        homes.setdefault("the passwords file", {})[deployment] = api.source
    for what, per_deployment in homes.items():
        assert per_deployment["dev"] != per_deployment["prod"], f"dev and prod share {what}"


def test_the_bundle_store_is_shared_by_dev_and_prod_at_one_path(services, environments) -> None:
    stores = {environments[n]["MES_BUNDLE_STORE"] for d in DEPLOYMENTS for n in airflow_services(d)}
    # A deployment's "active" link is an absolute path: dev writes it, prod follows it.
    assert len(stores) == 1, f"MES_BUNDLE_STORE differs between the services: {stores}"
    store = stores.pop()
    volumes = set()
    for deployment in DEPLOYMENTS:
        for name in airflow_services(deployment):
            mount = _volume_at(services[name], store)
            assert mount, f"{name} does not mount the bundle store at {store}"
            assert not mount.is_bind, f"{name} bind-mounts the bundle store: use the volume"
            volumes.add(mount.source)
    assert len(volumes) == 1, f"dev and prod mount different bundle stores: {volumes}"
    assert not _volume_at(services["dev-worker"], store).read_only, "dev workers cannot publish"


def test_dev_serves_the_repository_code_as_mounted(services, environments) -> None:
    env = environments["dev-scheduler"]
    wanted = {
        "./dags": env["AIRFLOW__CORE__DAGS_FOLDER"],
        "./plugins": env["AIRFLOW__CORE__PLUGINS_FOLDER"],
        "./include": str(PurePosixPath(env["AIRFLOW__CORE__DAGS_FOLDER"]).parent / "include"),
    }
    for name in airflow_services("dev"):
        for source, target in wanted.items():
            mount = _volume_at(services[name], target)
            assert (mount and mount.source, mount and mount.read_only) == (source, True), (
                f"{name} does not mount {source} read-only at {target}"
            )
        path = environments[name]["PYTHONPATH"].split(":")
        root = str(PurePosixPath(wanted["./include"]).parent)
        for folder in (root, wanted["./plugins"]):
            assert folder in path, f"{name}: PYTHONPATH {path} lacks {folder}"
        assert "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST" not in environments[name]


# -- environment -----------------------------------------------------------------------------------


def _same_in(environments, names: list[str], key: str) -> str:
    values = {environments[n].get(key) for n in names}
    assert len(values) == 1, f"{key} differs between {names}: {values}"
    assert None not in values, f"{key} is missing in some of {names}"
    return values.pop()


def test_each_deployment_is_one_celery_airflow_of_its_own(
    services, environments, env_example
) -> None:
    per_deployment: dict[str, dict[str, str]] = {}
    for deployment in DEPLOYMENTS:
        names = [*airflow_services(deployment), f"{deployment}-init"]
        values = {
            key: _same_in(environments, names, key)
            for key in (
                *SECRETS,
                "AIRFLOW__CORE__EXECUTOR",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                "AIRFLOW__CELERY__RESULT_BACKEND",
                "AIRFLOW__CELERY__BROKER_URL",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                "AIRFLOW__CORE__LOAD_EXAMPLES",
                "AIRFLOW_CONN_MES_DB",
                "AIRFLOW_CONN_DEPLOYER_DB",
            )
        }
        per_deployment[deployment] = values
        assert values["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert values["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
        for secret in SECRETS:
            assert values[secret], f"{deployment}: {secret} is empty"
        Fernet(values["AIRFLOW__CORE__FERNET_KEY"])  # raises on a malformed key
        # Tasks talk to their own deployment's API server.
        url = urlsplit(values["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        api = services[f"{deployment}-api-server"]
        assert (url.hostname, url.port, url.path) == (
            f"{deployment}-api-server",
            container_port(api),
            "/execution/",
        ), f"{deployment}: tasks would call {url.geturl()}, not their own api-server"
        backend = make_url(values["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+"))
        metadata = make_url(values["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert (backend.host, backend.database) == (metadata.host, metadata.database), (
            f"{deployment}: the Celery result backend is not the deployment's metadata database"
        )
        # Links in emails: the URL the user's browser reaches the api-server at.
        base = urlsplit(_same_in(environments, names, "AIRFLOW__API__BASE_URL"))
        ((_, published),) = host_ports(api, env_example)
        assert (base.hostname, base.port) == (env_example["AIRFLOW_PUBLIC_HOST"], published), (
            f"{deployment}: [api] base_url {base.geturl()} is not where the api-server is published"
        )
        users = _same_in(environments, names, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS")
        assert "admin:admin" in users.split(","), f"{deployment}: no admin user in {users}"
    dev, prod = per_deployment["dev"], per_deployment["prod"]
    for key in (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW_CONN_MES_DB",
        *SECRETS,
    ):
        assert dev[key] != prod[key], f"dev and prod share {key}: {dev[key]}"
    assert (
        make_url(dev["AIRFLOW_CONN_MES_DB"]).database
        != make_url(prod["AIRFLOW_CONN_MES_DB"]).database
    ), "dev and prod write the same MES database"
    assert dev["AIRFLOW_CONN_DEPLOYER_DB"] == prod["AIRFLOW_CONN_DEPLOYER_DB"], (
        "dev publishes to prod through the deployer: both need the same deployer_db"
    )


def test_smtp_default_reaches_the_mail_catcher_without_ssl(services, environments) -> None:
    from airflow.sdk import Connection

    for deployment in DEPLOYMENTS:
        for name in airflow_services(deployment):
            value = environments[name].get("AIRFLOW_CONN_SMTP_DEFAULT")
            assert value, f"{name} has no smtp_default connection"
            conn = Connection.from_json(value, conn_id="smtp_default")
            assert (conn.conn_type, conn.host, conn.port) == ("smtp", "mailpit", 1025), (
                f"{name}: smtp_default is {conn.conn_type}://{conn.host}:{conn.port}, not mailpit"
            )
            extra = conn.extra_dejson
            # The SMTP hook connects with SSL unless told otherwise.
            assert (extra.get("disable_ssl"), extra.get("disable_tls")) == (True, True), (
                f"{name}: smtp_default extras {extra} do not disable SSL and TLS"
            )


def test_prod_serves_only_the_deployers_active_bundle(environments) -> None:
    for name in airflow_services("prod"):
        env = environments[name]
        config = json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
        assert [c["classpath"] for c in config] == [BUNDLE_CLASS], (
            f"{name}: the DAG bundles are {config}, not the deployer's active bundle alone"
        )
        folder = str(deployment_folder(Path(env["MES_BUNDLE_STORE"]), "prod"))
        assert config[0]["kwargs"]["deployment_dir"] == folder, (
            f"{name}: the bundle reads {config[0]['kwargs']['deployment_dir']}; the deployer "
            f"switches the active link in {folder}"
        )
        plugins = env["AIRFLOW__CORE__PLUGINS_FOLDER"]
        # The bundle's code first; the image's code only as the fallback of serve.py.
        expected = f"{folder}/active:{folder}/active/plugins:{plugins}:{Path(plugins).parent}"
        assert env["PYTHONPATH"] == expected, f"{name}: PYTHONPATH is not serve.py's {expected}"
    module, _, cls = BUNDLE_CLASS.rpartition(".")
    bundle_class = getattr(importlib.import_module(module), cls)
    bundle = bundle_class(name=config[0]["name"], **config[0]["kwargs"])  # the kwargs it takes
    assert str(bundle.deployment_dir) == folder


def test_dev_releases_to_prod_through_prods_api(services, environments) -> None:
    for name in airflow_services("dev"):
        env = environments[name]
        url = urlsplit(env["MES_PROD_API_URL"])
        assert (url.hostname, url.port) == (
            "prod-api-server",
            container_port(services["prod-api-server"]),
        ), f"{name}: MES_PROD_API_URL {url.geturl()} is not prod's api-server"
        assert env["MES_PROD_API_PASSWORD"] == environments["prod-init"]["AIRFLOW_ADMIN_PASSWORD"]
        users = environments["prod-api-server"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]
        assert env["MES_PROD_API_USER"] in [u.split(":")[0] for u in users.split(",")]


def _known_airflow_options() -> set[tuple[str, str]]:
    """(section, option) of Airflow's own settings and of every installed provider's."""
    from airflow.configuration import retrieve_configuration_description

    sections = retrieve_configuration_description(include_providers=False)
    known = {(s, o) for s, d in sections.items() for o in (d.get("options") or {})}
    # The celery section exists only with its provider: read the providers' own descriptions.
    for provider in entry_points(group="apache_airflow_provider"):
        for section, description in (provider.load()().get("config") or {}).items():
            known |= {(section, option) for option in description.get("options") or {}}
    return known


def test_airflow_settings_name_real_options(services) -> None:
    from airflow.configuration import conf

    known = _known_airflow_options()
    unknown = set()
    for name, service in services.items():
        for key in service.get("environment", {}):
            if key.startswith("AIRFLOW__"):
                section, _, option = key.removeprefix("AIRFLOW__").lower().partition("__")
                if (section, option) not in known and not conf.has_option(section, option):
                    unknown.add(f"{name}: {key}")
    assert not unknown, f"settings Airflow does not know (typo, or another version?): {unknown}"


# -- variables, ports ------------------------------------------------------------------------------


def test_every_variable_is_defined_in_env_example(compose, env_example) -> None:
    referenced: dict[str, set[str | None]] = {}
    for text in strings(compose):
        for name, op in references(text):
            referenced.setdefault(name, set()).add(op)
    missing = sorted(set(referenced) - set(env_example))
    assert not missing, f"docker-compose.yaml uses {missing}, which .env.example does not define"
    unused = sorted(set(env_example) - set(referenced))
    assert not unused, f".env.example defines {unused}, which docker-compose.yaml never uses"
    for name, ops in referenced.items():
        if re.search(r"PASSWORD|SECRET|FERNET", name):
            assert ops == {":?"}, f"secret {name} must be required (${{{name}:?...}}), not {ops}"
    assert "cp .env.example .env" in ENV_EXAMPLE.read_text()


def test_env_file_is_git_ignored_and_untracked() -> None:
    ignored = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--quiet", ".env"], check=False
    )
    assert ignored.returncode == 0, ".env is not git-ignored: add it to .gitignore"
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--", ".env"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not tracked.strip(), ".env is tracked by git: git rm --cached .env"


def test_host_ports_are_unique_and_as_documented(services, env_example) -> None:
    seen: dict[int, str] = {}
    for name, service in services.items():
        for address, port in host_ports(service, env_example):
            assert port not in seen, f"host port {port} is published by {seen[port]} and {name}"
            seen[port] = name
            assert address in ("127.0.0.1", env_example["HOST_BIND_ADDRESS"]), (
                f"{name} publishes port {port} on {address}"
            )
    for name, port in DEFAULT_HOST_PORTS.items():
        assert host_ports(services[name], {}) == [("127.0.0.1", port)], (
            f"{name} does not publish {port} by default"
        )


# -- databases -----------------------------------------------------------------------------------


def created_databases(services, environments) -> dict[str, tuple[str, str]]:
    """Database -> (role, password) that the init script creates with compose's environment."""
    postgres = services["postgres"]
    target = "/docker-entrypoint-initdb.d/"
    mounted = [m for m in mounts(postgres) if m.target.startswith(target)]
    assert [(REPO / m.source).resolve() for m in mounted] == [INIT_SCRIPT], (
        f"postgres does not run {INIT_SCRIPT.relative_to(REPO)} from {target}"
    )
    triples = _CREATE_DATABASE.findall(INIT_SCRIPT.read_text())
    assert len(triples) == 5, f"the init script creates {len(triples)} databases, not 5"
    env = environments["postgres"]
    missing = sorted({v for t in triples for v in t} - set(env))
    assert not missing, f"the postgres service does not set {missing} for the init script"
    return {env[db]: (env[role], env[password]) for db, role, password in triples}


def database_urls(env: Mapping[str, str]) -> Iterator[tuple[str, URL]]:
    """(setting, URL) of every PostgreSQL database a service's environment points at."""
    for key, value in env.items():
        if key in DATABASE_SETTINGS or key.startswith("AIRFLOW_CONN_"):
            value = value.removeprefix("db+")  # Celery's result backend: db+<SQLAlchemy URL>
            if value.startswith(("postgresql", "postgres://")):
                yield key, make_url(value)


def test_the_init_script_creates_the_databases_the_services_use(services, environments) -> None:
    created = created_databases(services, environments)
    used = set()
    for name, env in environments.items():
        for key, url in database_urls(env):
            assert (url.host, url.port or 5432) == ("postgres", 5432), f"{name}: {key} -> {url}"
            assert url.database in created, f"{name}: {key} names {url.database}, never created"
            assert (url.username, url.password) == created[url.database], (
                f"{name}: {key} logs in as {url.username} with another password than the init "
                f"script gives the owner of {url.database}"
            )
            used.add(url.database)
    assert used == set(created), f"databases created but never used: {set(created) - used}"
    script = INIT_SCRIPT.read_text()
    assert os.access(INIT_SCRIPT, os.X_OK), f"{INIT_SCRIPT} is not executable"
    assert "set -euo pipefail" in script, "the init script does not stop on errors"
    assert "ON_ERROR_STOP=1" in script, "psql in the init script does not stop on errors"


# -- the image -----------------------------------------------------------------------------------


def test_dockerfile_installs_the_pinned_requirements_and_copies_the_code() -> None:
    lines = [
        line.strip()
        for line in DOCKERFILE.read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    (base,) = [line for line in lines if line.startswith("FROM ")]
    assert re.fullmatch(r"FROM python:3\.11\.\d+-slim-bookworm", base), (
        f"{base}: use a pinned python:3.11.x-slim-bookworm (requirements.txt is for 3.11)"
    )
    copies = {
        tuple(line.split()[1:3])
        for line in lines
        if line.startswith("COPY ") and "--from" not in line
    }
    destinations = dict(copies)
    for source in ("requirements.txt", "dags", "plugins", "include"):
        assert source in destinations, f"the Dockerfile does not COPY {source}"
    root = str(PurePosixPath(destinations["include"]).parent)
    assert {destinations[s] for s in ("dags", "plugins")} == {f"{root}/dags", f"{root}/plugins"}
    assert destinations["requirements.txt"] == f"{root}/requirements.txt", (
        "bundles made in the image need requirements.txt beside dags/, plugins/ and include/"
    )
    install = f"pip install --no-cache-dir -r {destinations['requirements.txt']}"
    assert any(install in line for line in lines), f"the Dockerfile does not run `{install}`"
    assert f"PYTHONPATH={root}:{root}/plugins" in " ".join(lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "the image runs as root"
    assert users[-1] not in ("root", "0"), "the image runs as root"

    pins = [
        line.split("#")[0].strip()
        for line in REQUIREMENTS.read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    loose = [p for p in pins if not re.fullmatch(r"[A-Za-z0-9][\w.\-\[\],]*==[^\s;=]+", p)]
    assert not loose, f"requirements.txt has unpinned lines: {loose}"
    names = {p.split("==")[0].lower() for p in pins}
    assert {
        "apache-airflow",
        "apache-airflow-providers-celery",
        "redis",
        "psycopg2-binary",
    } <= names

    ignored = set(DOCKERIGNORE.read_text().split())
    for path in (".git", ".env", ".venv", ".mes", "**/__pycache__", "benchmarks/.venv-evidently"):
        assert path in ignored, f".dockerignore does not exclude {path}"


# -- the init script, for real ---------------------------------------------------------------------


def _password_matches(verifier: str, role: str, password: str) -> bool:
    """Whether a pg_authid verifier (SCRAM-SHA-256 or md5) is that of ``password``."""
    if verifier.startswith("md5"):
        return verifier[3:] == hashlib.md5((password + role).encode()).hexdigest()
    _, iterations_salt, keys = verifier.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key


def _psql() -> str:
    found = shutil.which("psql") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), reverse=True)), None
    )
    if found is None:
        pytest.fail("psql is needed to run the init script: apt-get install postgresql-client")
    return str(found)


@pytest.mark.integration
def test_init_script_creates_working_isolated_databases(
    postgres_server, services, environments, tmp_path
) -> None:
    """Run the script (twice: it must be re-runnable) with unique names, then use each database
    as its own role the way the services do, and check that no role reaches another's database."""
    from airflow.sdk import Connection

    from include.bundles.deployer import Deployer
    from include.mes.store import ModelEvaluationStore
    from mes_hook import connection_url

    token = uuid.uuid4().hex[:8]
    triples = _CREATE_DATABASE.findall(INIT_SCRIPT.read_text())
    admin = make_url(postgres_server.admin_url)
    env = {
        "PATH": os.pathsep.join([str(Path(_psql()).parent), "/usr/bin", "/bin"]),
        "PGHOST": admin.host or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "PGUSER": admin.username or "postgres",
        "PGDATABASE": admin.database or "postgres",
        **({"PGPASSWORD": admin.password} if admin.password else {}),
    }
    databases = {}
    for db_var, role_var, password_var in triples:
        name = f"{db_var.lower()}_{token}"
        # A quote and a space: the script must quote what it is given.
        password = f"pw'{token} {db_var.lower()}"
        env.update({db_var: name, role_var: name, password_var: password})
        databases[db_var] = (name, password)

    def connect(database: str, role: str, password: str):
        return psycopg2.connect(
            host=env["PGHOST"],
            port=env["PGPORT"],
            dbname=database,
            user=role,
            password=password,
            connect_timeout=5,
        )

    @contextlib.contextmanager
    def admin_cursor():
        conn = connect(env["PGDATABASE"], env["PGUSER"], admin.password or "")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    try:
        for attempt in ("first run", "second run"):
            done = subprocess.run(
                ["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, f"init script, {attempt}:\n{done.stdout}{done.stderr}"
        with admin_cursor() as cur:
            for name, password in databases.values():
                cur.execute(
                    "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (name,)
                )
                assert cur.fetchone() == (name,), f"{name} was not created, or not owned by {name}"
                cur.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,))
                (verifier,) = cur.fetchone()
                assert verifier, f"role {name} has no password"
                assert _password_matches(verifier, name, password), (
                    f"role {name} does not have the password the script was given"
                )

        for db_var, (name, password) in databases.items():
            # As compose writes them (AIRFLOW_CONN_...=postgresql://...), the password encoded.
            uri = URL.create(
                "postgresql",
                username=name,
                password=password,
                host=env["PGHOST"],
                port=int(env["PGPORT"]),
                database=name,
            ).render_as_string(hide_password=False)
            if "MES" in db_var:  # as a task reads mes_db, then the MES creates schema "mes"
                url = connection_url(Connection.from_uri(uri, conn_id="mes_db"))
                with ModelEvaluationStore.open(url) as store:
                    assert store.schema_version() > 0
                    assert store.store_names() == []
            elif "DEPLOYER" in db_var:  # as prod-init opens it; schema "deployer"
                with Deployer.open(uri, tmp_path / "store") as deployer:
                    deployer.configure("prod", {})
                    assert deployer.status("prod").active_bundle_id is None
            else:  # Airflow's metadata tables live in the default schema
                with connect(name, name, password) as conn, conn.cursor() as cur:
                    cur.execute("CREATE TABLE probe (id integer)")
                    cur.execute("INSERT INTO probe VALUES (1)")
                conn.close()

        # Nobody but the owner connects: dev's MES role cannot reach prod's MES.
        dev_mes, prod_mes = databases["DEV_MES_DB"], databases["PROD_MES_DB"]
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            connect(prod_mes[0], dev_mes[0], dev_mes[1]).close()
    finally:
        with admin_cursor() as cur:
            for name, _ in databases.values():
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cur.execute(f'DROP ROLE IF EXISTS "{name}"')
