"""The web UI's templates are compiled when the UI is built."""

from __future__ import annotations

from pathlib import Path

from gramstack.runtime.config import load_settings
from gramstack.web.routes import WebUI


def test_every_template_is_compiled_when_the_ui_is_built(tmp_path: Path) -> None:
    # In a prefork server the UI is built in the master, before the fork:
    # a template compiled there is shared by every worker, one compiled on
    # a worker's first request is that worker's alone.
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path})
    env = WebUI("session", settings).templates.env
    names = env.list_templates()
    assert "base.html" in names
    assert len(env.cache) == len(names)
    assert all(env.get_template(name).is_up_to_date for name in names)
