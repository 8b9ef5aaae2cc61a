"""The load test: loadtest/run.py starts gunicorn on a fresh PostgreSQL database and runs
locust (loadtest/locustfile.py) against it."""
