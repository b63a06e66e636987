"""Task modules, one per domain; importing this package registers them all."""

from services.worker.tasks import signals, status, tk, webhooks  # noqa: F401
