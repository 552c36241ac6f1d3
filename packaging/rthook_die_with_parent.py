"""PyInstaller runtime hook: the Python process of the one-file binary dies when its launcher does.

A one-file executable runs as two processes: the launcher (the PID a shell, a supervisor or
`kill -9` sees) unpacks the bundle to a temporary folder and starts a child that runs Waypost.
The launcher forwards catchable signals, but SIGKILL cannot be forwarded, so without this the
child would keep serving (and keep the port and the instances) after `kill -9 <pid>`. On Linux
the kernel is asked to SIGKILL the child when its parent dies, so a kill of the launcher is a
crash of the whole host, as it is for `python -m host`.
"""


def _die_with_parent() -> None:
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        parent = os.getppid()
        # only when the parent is our own launcher (the same executable file), never a shell
        theirs, ours = os.stat(f"/proc/{parent}/exe"), os.stat("/proc/self/exe")
        if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
            return
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the launcher died before prctl took effect
            os._exit(137)
    except (OSError, AttributeError, ValueError):
        pass


_die_with_parent()
del _die_with_parent
