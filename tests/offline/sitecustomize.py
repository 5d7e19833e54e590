"""A socket guard loaded into every Python process of an offline test (through PYTHONPATH, so
the smoke-test child gets it too): any connection, datagram or name lookup that is not to this
machine is refused and written to $MODELVET_OFFLINE_LOG."""

from __future__ import annotations

import os
import socket

LOG = os.environ.get("MODELVET_OFFLINE_LOG")
LOCAL = {"127.0.0.1", "::1", "localhost", ""}


def _note(line: str) -> None:
    if LOG:
        with open(LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {line}\n")


def _is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # a Unix socket path
        return True
    return isinstance(address, tuple) and bool(address) and str(address[0]) in LOCAL


def _guard(name: str, real):  # type: ignore[no-untyped-def]
    def guarded(self_or_address, *args, **kwargs):  # type: ignore[no-untyped-def]
        address = args[0] if isinstance(self_or_address, socket.socket) and args else None
        if isinstance(self_or_address, socket.socket):
            target = address if name != "sendto" else args[-1]
        else:
            target = self_or_address
        if not _is_local(target):
            _note(f"blocked {name} {target!r}")
            raise OSError(101, f"offline test: {name} to {target!r} refused")
        return real(self_or_address, *args, **kwargs)

    return guarded


def _lookup(real):  # type: ignore[no-untyped-def]
    def guarded(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in LOCAL and host is not None:
            _note(f"blocked getaddrinfo {host!r}")
            raise socket.gaierror(-2, f"offline test: lookup of {host!r} refused")
        return real(host, *args, **kwargs)

    return guarded


if LOG:
    socket.socket.connect = _guard("connect", socket.socket.connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guard("connect_ex", socket.socket.connect_ex)  # type: ignore[method-assign]
    socket.socket.sendto = _guard("sendto", socket.socket.sendto)  # type: ignore[method-assign]
    socket.create_connection = _guard("create_connection", socket.create_connection)  # type: ignore[assignment]
    socket.getaddrinfo = _lookup(socket.getaddrinfo)  # type: ignore[assignment]
    with open("/proc/self/cmdline", "rb") as cmdline:
        _note("guarded " + cmdline.read().replace(b"\0", b" ").decode(errors="replace")[:300])
