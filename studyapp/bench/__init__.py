"""The performance benchmark (`make bench`, `python manage.py bench`).

- data: builds a synthetic collection (bank, learners, cards in every state, a year of reviews)
  with bulk inserts: COPY on PostgreSQL, executemany on SQLite.
- measure: the study loop, the dashboard and the progress page in process (Django's test
  client), each request's latency and SQL queries, and where the database time goes.
- http: gunicorn (2 workers) driven by wrk, the study loop against a constant view.
- bank: load_bank on a generated bank of 10k questions.
- runner: one fresh database per backend and size, each measured in its own process; the table,
  the JSON in bench/results/ and the targets.

Nothing here is imported by the app. The bench-only URLconf (`bench/constant/`) lives in
studyapp.bench.urls and is selected only by the benchmark's settings module,
studyapp.bench.settings.
"""
