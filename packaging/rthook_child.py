"""PyInstaller runtime hook: make the one-file binary's two processes behave like one.

A one-file executable runs as two processes: the launcher (the PID that a shell, a supervisor or
`kill` sees) unpacks the bundle to a temporary folder and starts a child that runs Waypost; the
launcher forwards the signals it gets to the child. Two things differ from `python -m host`
unless the child, on Linux, fixes them here:

- SIGKILL cannot be forwarded, so after `kill -9 <launcher>` the child kept serving, holding the
  port and the running instances. The kernel is now asked to SIGKILL the child when its parent
  dies: a kill of the launcher is a crash of the host.
- Ctrl-C in a terminal sends SIGINT to the whole foreground process group, so the child got it
  twice (from the terminal and forwarded), and uvicorn takes a second SIGINT as "exit now",
  failing in-flight requests. The child now leaves the launcher's process group, so it gets
  each signal once, from the launcher, and shuts down gracefully.
"""


def _follow_launcher() -> None:
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
        os.setpgid(0, 0)
    except (OSError, AttributeError, ValueError):
        pass


_follow_launcher()
del _follow_launcher
