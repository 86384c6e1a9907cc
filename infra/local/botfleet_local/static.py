"""The dashboard's static files, served on the API's port.

In AWS, CloudFront serves them from S3 beside the API; locally, a GET or HEAD that no API method matches
is looked up here before it becomes the API's 404.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles


class StaticSite:
    def __init__(self, directory: Path | None):
        # html=True: a directory answers with its index.html, as the site's default root object does.
        self._files = StaticFiles(directory=str(directory), html=True) if directory and directory.is_dir() else None

    async def response(self, request: Request) -> Response | None:
        """The file the request names, or None (no such file, not a GET/HEAD, or no site at all)."""
        if self._files is None or request.method not in ("GET", "HEAD"):
            return None
        try:
            return await self._files.get_response(self._files.get_path(request.scope), request.scope)
        except Exception:  # starlette raises HTTPException(404) for a missing file
            return None
