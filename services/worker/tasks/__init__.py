"""Task modules, one per domain; importing this package registers them all."""
from services.worker.tasks import status  # noqa: F401
from services.worker.tasks import tk  # noqa: F401,E402
from services.worker.tasks import signals  # noqa: F401
