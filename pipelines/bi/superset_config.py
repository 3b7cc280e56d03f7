"""Superset settings of the local BI demo (``make bi-demo``): read by Superset, not by SCIM.

Superset imports this file (``SUPERSET_CONFIG_PATH``) in its own virtual environment; the
demo's state (metadata database, secret key) lives in ``SUPERSET_HOME``. Localhost only.
"""

import os

_HOME = os.environ["SUPERSET_HOME"]

SECRET_KEY = open(os.path.join(_HOME, "secret_key"), encoding="utf-8").read().strip()
SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.path.join(_HOME, "superset.db")
# A plain in-process cache: the demo runs without Redis or Celery workers.
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}  # every chart query reads the current BI catalog
FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
# Served on 127.0.0.1 over HTTP: no HTTPS redirects or HSTS.
TALISMAN_ENABLED = False
# Screenshots and alerts need workers; the demo does not use them.
THUMBNAILS_ENABLED = False
