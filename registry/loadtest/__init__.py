"""A load test from a second process: gunicorn on loopback, a bounded threaded client, figures per action."""
