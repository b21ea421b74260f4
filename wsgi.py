"""Entry point for gunicorn and ``flask --app wsgi``."""

from workshops import create_app

app = create_app()
celery_app = app.extensions["celery"]
