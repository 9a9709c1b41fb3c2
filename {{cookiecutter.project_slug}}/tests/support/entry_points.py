"""An entry point started in the test's own process, ended as `python -m` would end it.

A second interpreter would import the app and its client libraries again, about a second
per start; the unit run's checks of what an entry point refuses need no such process.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

import pytest

from {{ cookiecutter.package_name }}.config import get_settings


def exit_status_and_output(
    start: Callable[[], object], capfd: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Run `start` as the interpreter runs a `__main__`: its exit status and all it printed,
    with the traceback of an exception it raised, as the interpreter prints it on the way out."""
    get_settings.cache_clear()  # read once per process: this start is a process of its own
    try:
        start()
    except SystemExit as exit_:
        status, last_words = exit_status_of(exit_)
    except Exception as error:
        status, last_words = 1, "".join(traceback.format_exception(error))
    else:
        status, last_words = 0, ""
    finally:
        get_settings.cache_clear()
    out, err = capfd.readouterr()
    return status, out + err + last_words


def exit_status_of(exit_: SystemExit) -> tuple[int, str]:
    """`sys.exit(code)`: an int is the status; anything else is printed and the status is 1."""
    if exit_.code is None:
        return 0, ""
    if isinstance(exit_.code, int):
        return exit_.code, ""
    return 1, f"{exit_.code}\n"
