"""The status board: a Dutch (and English) web page on the public API, served by the API process at /board."""

from services.api.board.router import router

__all__ = ["router"]
