"""The web layer: the app factory (`app.py`), what every handler shares
(`deps.py`), the headers on every answer (`security.py`), the JSON API (`api/`), the
pages for people (`pages/`, templates in `templates/`, files in `static/`), sign-in
(`oidc.py`, `sessions.py`), Norwegian validation messages (`messages.py`) and the
downloadable files (`downloads.py`)."""
