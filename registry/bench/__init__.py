"""Benchmarks measured side by side in one run (`python manage.py bench`)."""
