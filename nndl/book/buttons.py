"""The book's header buttons follow one setting, ``repository.url`` in ``_config.yml``: set, the
pages get the repository and issues buttons and the launch buttons (Binder, Colab, and
JupyterHub where ``launch_buttons.jupyterhub_url`` names a hub); empty, they get none, so that a
checkout that has not chosen its repository still builds with ``-W``. The buttons are links: the
build fetches nothing either way.

A Sphinx extension, listed in ``sphinx.extra_extensions`` of ``_config.yml``.
"""

from __future__ import annotations

LAUNCH_URLS = ("binderhub_url", "colab_url", "jupyterhub_url", "deepnote_url", "jupyterlite_url")


def button_options(theme_options: dict) -> dict:
    """sphinx-book-theme's options with the buttons switched on or off by ``repository_url``.

    Inputs:
    - theme_options: ``html_theme_options`` as Jupyter Book makes them from ``_config.yml``

    Returns:
    - a new dict: ``use_repository_button`` and ``use_issues_button`` true when the URL is set;
      without it, every launch URL emptied (the theme would warn that it has no repository)
    """
    options = dict(theme_options)
    has_url = bool(options.get("repository_url"))
    options["use_repository_button"] = options["use_issues_button"] = has_url
    if not has_url:
        options["launch_buttons"] = {
            **options.get("launch_buttons", {}),
            **dict.fromkeys(LAUNCH_URLS, ""),
        }
    return options


def _switch_buttons(app, config) -> None:
    config.html_theme_options = button_options(config.html_theme_options)


def setup(app):
    app.connect("config-inited", _switch_buttons)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
