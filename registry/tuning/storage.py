"""Optuna, its storage and the study's record, without torch: ``genzoo tune show`` needs nothing more.

Any SQLAlchemy URL Optuna takes is a storage: ``sqlite:///PATH`` (the embedded default) or
``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB`` for many machines (a bare ``postgresql://`` gets
psycopg 3, the driver genzoo[tune] installs, instead of SQLAlchemy's default psycopg2).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from genzoo.core.errors import GenzooError, did_you_mean
from genzoo.core.extras import require

MAX_RETRIES = 3  # re-runs of a trial whose process died, before its parameters are given up
CREATE_TRIES = 5  # opening a new database that other processes are setting up at the same moment
SETTINGS_ATTR = "genzoo"  # the study's user attribute recording what its trials are (checked on every join)


def optuna_module() -> Any:
    """optuna, quiet: genzoo prints each trial's outcome itself, once."""
    optuna = require("optuna", "tune", "genzoo tune")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


@contextlib.contextmanager
def quiet(optuna: Any) -> Iterator[None]:
    """Optuna marks its heartbeat and plots experimental; that warning says nothing a user can act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def storage_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def shown(url: str) -> str:
    """The URL without its password, for messages and reports."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"
    return url


def open_storage(url: str, heartbeat: int | None = None) -> Any:
    """An Optuna RDB storage for ``url``; with ``heartbeat`` (seconds), each running trial beats, and one
    whose process died (no beat for two intervals) is failed and its parameters re-enqueued."""
    optuna = optuna_module()
    url = storage_url(url)
    if url.startswith("postgresql"):
        require("psycopg", "tune", "a PostgreSQL storage")
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    sqlalchemy_exc = require("sqlalchemy.exc", "tune", "genzoo tune")
    attempt = 0
    while True:
        try:
            with quiet(optuna):
                retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES) if heartbeat else None
                return optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat,
                                                  heartbeat_stale_trial_callback=retry)
        except (sqlalchemy_exc.IntegrityError, sqlalchemy_exc.ProgrammingError) as exc:
            # Several processes meeting a new database create Optuna's tables at once; the losers retry,
            # and find the tables made.
            attempt += 1
            if attempt == CREATE_TRIES:
                raise GenzooError(f"cannot set up the study storage {shown(url)}: {str(exc).splitlines()[0]}") \
                    from None
            time.sleep(0.2 * attempt)
        except Exception as exc:  # SQLAlchemy's and the drivers' errors: a wrong URL, a server down, bad credentials
            raise GenzooError(f"cannot open the study storage {shown(url)}: {str(exc).splitlines()[0]}") from None


def load_study(url: str, name: str) -> Any:
    """An existing study, or one line naming the studies the storage holds."""
    optuna = optuna_module()
    url = storage_url(url)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():  # SQLite would create it empty
        raise GenzooError(f"{url}: no such file; a SQLite storage is the study.db that `genzoo tune` wrote "
                          f"(OUT/study.db by default).")
    storage = open_storage(url)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        raise GenzooError(f"{shown(url)} holds no study {name!r}.{did_you_mean(name, names)} "
                          f"Studies there: {', '.join(names) or 'none'}.") from None
