"""The server API for the application's own backend: ``/api/...``, on only when ``api_key`` is set.

JSON in and out; every error is ``{code, message}``. A request must carry
``Authorization: Bearer <api_key>`` (compared in constant time), else 401; with no ``api_key``
every ``/api/`` path answers 404. The document is ``GET /api/openapi.json`` (api/openapi.py).
"""

from api.routes import register

__all__ = ["register"]
