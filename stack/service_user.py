"""Gives Elasticsearch the unprivileged account it insists on when the stack runs as root.

Elasticsearch refuses to start as root. Containers and CI machines often run everything as root,
so in that case the stack creates a system account and starts Elasticsearch under it. Root's home
folder (and so the default cache) is closed to other accounts, therefore everything that account
must read or write lives in the account's own home instead (see :mod:`trailhound.stack.elasticsearch`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from trailhound.stack.errors import StackError

__all__ = ["SERVICE_USER", "chown_tree", "ensure_service_user", "running_as_root"]

SERVICE_USER = "trailhound-es"


def running_as_root() -> bool:
    return os.geteuid() == 0


def ensure_service_user(address: str) -> pwd.struct_passwd:
    """The service account, created (system account, own group, no login shell) if missing."""
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise StackError("elasticsearch", address, "running as root and 'useradd' is missing, so "
                         f"the '{SERVICE_USER}' account Elasticsearch needs cannot be created")
    home = Path("/var/lib") / SERVICE_USER
    result = subprocess.run(
        [useradd, "--system", "--user-group", "--create-home", "--home-dir", str(home),
         "--shell", "/usr/sbin/nologin", "--comment", "Trailhound local Elasticsearch", SERVICE_USER],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise StackError("elasticsearch", address, f"useradd {SERVICE_USER} failed: {result.stderr.strip()}")
    return pwd.getpwnam(SERVICE_USER)


def chown_tree(root: Path, account: pwd.struct_passwd) -> None:
    """Hand ``root`` and everything below it to ``account``."""
    os.chown(root, account.pw_uid, account.pw_gid)
    for folder, subfolders, files in os.walk(root):
        for name in subfolders + files:
            os.chown(os.path.join(folder, name), account.pw_uid, account.pw_gid, follow_symlinks=False)
