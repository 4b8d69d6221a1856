"""Where users' queries run: a thread that cannot open a network socket.

Oxigraph's engine runs SERVICE itself (an HTTP request chosen by the query text), and
pyoxigraph 0.5 has no option to leave its service handler out (``Store.query`` takes
none). The guard refuses SERVICE before any engine sees it; this is the second wall: the
thread that runs a user's query gets a seccomp filter under which ``socket()`` fails
for anything but local (AF_UNIX) sockets, and so does every thread it starts. Whatever
text reaches the engine, it cannot call out. Other threads of the process are not
affected (the CLI's tests run in one process with servers).

Linux on x86-64 and arm64; elsewhere the query runs with the guard alone (logged once).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import platform
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
STACK_BYTES = 64 * 2**20  # the engine recurses; the guard's limits were set at 8 MiB

# audit architecture, socket() and io_uring_setup() numbers per machine
_SYSCALLS = {"x86_64": (0xC000003E, 41, 425), "aarch64": (0xC00000B7, 198, 425)}
_LD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06  # BPF: load word, jump if =, if >=, return
_ALLOW, _DENY = 0x7FFF0000, 0x00050000 | errno.EACCES  # SECCOMP_RET_ALLOW, _ERRNO
_X32 = 0x40000000  # x32 system calls: never ours
_log = logging.getLogger(__name__)
_warned: list[bool] = []


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def _program(arch: int, socket_nr: int, io_uring_nr: int) -> list[tuple[int, int, int, int]]:
    """The filter; jumps are written as absolute targets and made relative below."""
    deny, allow = 8, 9
    listing = [
        (_LD, None, None, 4),  # 0: seccomp_data.arch
        (_JEQ, 2, deny, arch),  # 1
        (_LD, None, None, 0),  # 2: seccomp_data.nr
        (_JGE, deny, 4, _X32),  # 3
        (_JEQ, deny, 5, io_uring_nr),  # 4: io_uring could open sockets past this filter
        (_JEQ, 6, allow, socket_nr),  # 5
        (_LD, None, None, 16),  # 6: the low word of args[0], the address family
        (_JEQ, allow, deny, socket.AF_UNIX),  # 7
        (_RET, None, None, _DENY),  # 8
        (_RET, None, None, _ALLOW),  # 9
    ]
    return [(code, 0 if jt is None else jt - i - 1, 0 if jf is None else jf - i - 1, k)
            for i, (code, jt, jf, k) in enumerate(listing)]


def forbid_network() -> bool:
    """From now on, this thread (and threads it starts) cannot open network sockets.
    False where the platform has no such filter."""
    numbers = _SYSCALLS.get(platform.machine())
    if not sys.platform.startswith("linux") or numbers is None:
        return False
    listing = _program(*numbers)
    instructions = (_Instruction * len(listing))(*(_Instruction(*i) for i in listing))
    program = _Program(len(listing), instructions)
    libc = ctypes.CDLL(None, use_errno=True)
    no_new_privs, set_seccomp, filter_mode = 38, 22, 2  # prctl options (linux/prctl.h)
    zero = ctypes.c_ulong(0)
    if (libc.prctl(no_new_privs, ctypes.c_ulong(1), zero, zero, zero) != 0
            or libc.prctl(set_seccomp, ctypes.c_ulong(filter_mode), ctypes.byref(program),
                          zero, zero) != 0):
        raise OSError(ctypes.get_errno(), "cannot install the network filter")
    return True


def without_network(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a new thread that cannot open network sockets, with a
    stack the engine cannot exhaust within the guard's limits; its result or its error."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            if not forbid_network() and not _warned:
                _warned.append(True)
                _log.warning("no network filter on this platform: SERVICE is refused "
                             "by the query guard only")
            outcome.append((True, function(*args)))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append((False, exc))

    previous = threading.stack_size(STACK_BYTES)
    try:
        thread = threading.Thread(target=run, name="graphsvc-query", daemon=True)
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    ok, value = outcome[0]
    if ok:
        return value
    raise value
