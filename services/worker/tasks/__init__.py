"""Task modules, one per domain; importing this package registers them all."""
