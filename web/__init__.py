"""The web page of ``defwatch serve`` (the top floor beside ``scheduler``: it reads the store
and the stages; only the serve command imports it)."""

from web.app import create_app

__all__ = ["create_app"]
