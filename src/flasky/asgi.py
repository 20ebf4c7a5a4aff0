"""The ASGI application, for any ASGI server. In production `flasky serve` runs it under
Hypercorn's workers with a master whose exit status tells when it could not start
(flasky/serving.py says why Hypercorn's own master cannot)."""

from flasky import create_app

app = create_app()
