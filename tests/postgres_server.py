"""A throwaway PostgreSQL server on loopback, for the tests and CI (standard library only).

    python3 tests/postgres_server.py start DIR   # initdb into DIR, start on a free port, print the URL
    python3 tests/postgres_server.py stop DIR    # stop it (DIR can then be removed)

The server trusts local connections and listens on 127.0.0.1 only. Started from the command line
it is a test server, with fsync off (fast; a crash of the machine could lose its data).
As root (PostgreSQL refuses to run as root) it runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


class Unavailable(Exception):
    """No server can be started here: the reason."""


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0)
    if versions:
        return versions[-1]
    raise Unavailable(f"no PostgreSQL server binaries ({name}) on this machine; "
                      "install them (Debian: apt-get install postgresql)")


def _as_server_user(folder: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable("running as root and there is no 'postgres' user to run the server") from None
    subprocess.run(["chown", "-R", "postgres:", str(folder)], check=True)
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _home(folder: Path) -> Path:
    """Where the server's files go: ``folder``, or as root a new folder in the system's temporary
    directory (the ``postgres`` user may not reach into ``folder``), named in ``folder/home``."""
    pointer = folder / "home"
    if pointer.exists():
        return Path(pointer.read_text().strip())
    home = folder if os.geteuid() != 0 else Path(tempfile.mkdtemp(prefix="gigaledger-postgres-"))
    pointer.write_text(str(home))
    return home


def start(folder: str | os.PathLike[str], *, durable: bool = True) -> str:
    """Initialise a cluster for ``folder``, start it, and return its URL. ``durable=False`` turns
    fsync off (faster tests; a server crash could then lose data)."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    home = _home(folder)
    run_as = _as_server_user(home)
    data = home / "data"
    done = subprocess.run(run_as + [initdb, "-D", str(data), "-U", "postgres", "--auth=trust",
                                    "-E", "UTF8", "--no-locale"], capture_output=True, text=True)
    if done.returncode:
        raise Unavailable(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
    port = _free_port()
    settings = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c max_connections=60"
    if not durable:
        settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    log = home / "server.log"
    done = subprocess.run(run_as + [pg_ctl, "-D", str(data), "-l", str(log),
                                    "-w", "-t", "60", "-o", settings, "start"],
                          capture_output=True, text=True)
    if done.returncode:
        text = log.read_text(errors="replace") if log.exists() else ""
        raise Unavailable(f"the server did not start: {done.stderr.strip()} {text[-500:]}")
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    (folder / "url").write_text(url)
    return url


def stop(folder: str | os.PathLike[str]) -> None:
    """Stop the server started for ``folder`` and remove its files."""
    folder = Path(folder).resolve()
    if not (folder / "home").exists():
        return
    home = _home(folder)
    if (home / "data" / "postmaster.pid").exists():
        run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(run_as + [_binary("pg_ctl"), "-D", str(home / "data"), "-m", "immediate",
                                 "-w", "stop"], capture_output=True, check=False)
    if home != folder:
        shutil.rmtree(home, ignore_errors=True)


def restart(folder: str | os.PathLike[str]) -> None:
    """Restart the server started for ``folder`` (on the same port), ending every connection."""
    home = _home(Path(folder).resolve())
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run(run_as + [_binary("pg_ctl"), "-D", str(home / "data"), "-l",
                                    str(home / "server.log"), "-m", "fast", "-w", "-t", "60",
                                    "restart"], capture_output=True, text=True)
    if done.returncode:
        raise Unavailable(f"the server did not restart: {done.stderr.strip()}")


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[1] == "start":
            print(start(argv[2], durable=False))
        else:
            stop(argv[2])
    except Unavailable as error:
        print(f"postgres_server: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
