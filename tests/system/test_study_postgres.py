"""The two-worker study on a real PostgreSQL server: Optuna's RDB storage, its heartbeat table and its retry callback.

The server comes from $LSTM_TEXT_LAB_POSTGRES_URL (CI sets it), or else a throwaway cluster is started here when the
PostgreSQL server binaries are installed. Without either the test is skipped, unless
LSTM_TEXT_LAB_REQUIRE_POSTGRES=1 (as in CI), where a missing server is a failure.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from test_study import two_workers_with_a_kill

URL_VARIABLE = "LSTM_TEXT_LAB_POSTGRES_URL"
REQUIRE_VARIABLE = "LSTM_TEXT_LAB_REQUIRE_POSTGRES"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{reason} ({REQUIRE_VARIABLE}=1)")
    pytest.skip(reason)


def _server_binaries() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="module")
def postgres_url():
    url = os.environ.get(URL_VARIABLE)
    if url:
        yield url
        return
    binaries = _server_binaries()
    if binaries is None:
        _skip_or_fail(f"no PostgreSQL server binaries and no {URL_VARIABLE}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _skip_or_fail("running as root without runuser to start PostgreSQL as the postgres user")
    root = Path(tempfile.mkdtemp(prefix="lstm-text-lab-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, log, port = root / "data", root / "server.log", _free_port()
    started = False
    try:
        subprocess.run(_as_server_user([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "lab",
                                        "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True, timeout=120)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                        "-o", options, "start"]),
                       check=True, capture_output=True, timeout=120)
        started = True
        yield f"postgresql+psycopg2://lab@127.0.0.1:{port}/postgres"
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
        _skip_or_fail(f"a throwaway PostgreSQL server did not start: {detail[0]}")
    finally:
        if started:
            subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_two_worker_processes_share_a_postgres_study_and_survive_a_kill_9(postgres_url, tmp_path):
    handle = two_workers_with_a_kill(tmp_path, storage=postgres_url, name=f"two-workers-{uuid.uuid4().hex[:8]}")
    assert handle.rdb is not None
    # The retry came through Optuna's own heartbeat table (the workers' local-process check was off).
    import sqlalchemy

    with handle.rdb.engine.connect() as connection:
        beats = connection.execute(sqlalchemy.text(
            "SELECT count(*) FROM trial_heartbeats h JOIN trials t ON t.trial_id = h.trial_id "
            "JOIN studies s ON s.study_id = t.study_id WHERE s.study_name = :name"), {"name": handle.name}).scalar()
    assert beats >= 12


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # the test asks for trials by hand, as a dying worker would
def test_a_silent_trial_on_postgres_is_failed_once_whether_or_not_it_ever_beat(postgres_url, tmp_path):
    import time

    from core.evidence.study import Heartbeat, create_sweep, data_source, open_study, parse_space, recover_stale_trials
    from support.fakes import make_dataset, tiny_config

    data = make_dataset({"sports": 10, "tech": 10}, seed=4)
    name = f"silent-{uuid.uuid4().hex[:8]}"
    create_sweep(tiny_config(), data_source(data), trials=3,
                 space=parse_space({"model.dropout": {"low": 0.1, "high": 0.5}}),
                 name=name, storage=postgres_url, runs_dir=tmp_path)
    handle = open_study(name, storage=postgres_url, heartbeat_s=1, grace_s=1)
    beat = handle.study.ask()  # beat once (Optuna's heartbeat row), then its worker dies
    Heartbeat(handle, beat._trial_id).beat()
    never = handle.study.ask()  # its worker died before the first beat: no heartbeat row at all
    time.sleep(2.5)
    assert sorted(recover_stale_trials(handle, check_local_pids=False)) == sorted([beat.number, never.number])
    retries = sorted(t.system_attrs["failed_trial"] for t in handle.trials() if t.state.name == "WAITING")
    assert retries == sorted([beat.number, never.number])  # each once, by Optuna's callback or by ours
    assert recover_stale_trials(handle, check_local_pids=False) == []
