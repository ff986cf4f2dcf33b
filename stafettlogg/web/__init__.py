"""The web layer: the app factory (`app.py`), what every handler shares
(`deps.py`), the headers on every answer (`security.py`), the JSON API (`api/`) and
the downloadable files (`downloads.py`)."""
