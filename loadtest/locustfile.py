"""Simulated learners for the load test (run by loadtest/run.py; see its docstring).

Each learner logs in once with its own account (LOADTEST_ACCOUNTS: a JSON file of usernames
and the password), opens the study page, then loops: the next card as an HTMX fragment, its
answer (a reveal for a flashcard, a checked answer for the others), and a grade with the form's
token, picking one of the grades the feedback offers.

A request that loses its connection (the worker serving it was killed) is sent again, the
same request with the same token, up to TRIES times; the grade's token makes a repeat record
nothing twice. Locust's statistics hold each request's final outcome; the lost connections are
counted apart, with their times, in the summary this file writes when locust quits
(LOADTEST_SUMMARY), together with every acknowledged grade's token.
"""

import html
import itertools
import json
import os
import random
import re
import time

import requests
from locust import User, between, events, task
from locust.exception import StopUser

TRIES = 4
RETRY_PAUSE = 0.5  # seconds
HTMX = {"HX-Request": "true"}

with open(os.environ["LOADTEST_ACCOUNTS"], encoding="utf-8") as accounts:
    ACCOUNTS = json.load(accounts)
NEXT_ACCOUNT = itertools.count()
STUDY_UNTIL = float(os.environ.get("LOADTEST_STUDY_UNTIL", "inf"))
SUMMARY = {
    "acked_tokens": [],  # every grade answered 200 or 302
    "grade_refusals": [],  # grades answered otherwise: (status, body)
    "connection_errors": [],  # {"at": epoch seconds, "name", "error", "retried"}
    "logins": {"ok": 0, "failed": []},
    "cycles": 0,
    "cycles_finished": 0,
    "grades_in_flight": {},  # token -> card id, while its POST has no answer yet
    "done_pages": 0,  # the study page said there was nothing left
}

FIELD = r'name="{}" value="([^"]*)"'


def field(page: str, name: str) -> str | None:
    found = re.search(FIELD.format(re.escape(name)), page)
    return html.unescape(found.group(1)) if found else None


class Learner(User):
    wait_time = between(0.5, 1.5)  # a learner reads the card before answering

    def on_start(self):
        self.http = requests.Session()  # its own: locust's would report every attempt
        account = ACCOUNTS["usernames"][next(NEXT_ACCOUNT) % len(ACCOUNTS["usernames"])]
        self.csrf = ""
        page = self.send("GET", "/accounts/login/", "login page")
        if page is None:
            return self.give_up(account, "the login page did not load")
        self.csrf = field(page.text, "csrfmiddlewaretoken") or ""
        data = {"username": account, "password": ACCOUNTS["password"], "next": "/study/"}
        response = self.send(
            "POST", "/accounts/login/", "login", data=data, ok=(302,), allow_redirects=False
        )
        if response is None or response.headers.get("Location") != "/study/":
            return self.give_up(
                account, f"the login was refused ({getattr(response, 'status_code', None)})"
            )
        SUMMARY["logins"]["ok"] += 1
        page = self.send("GET", "/study/", "study page (full)")  # makes the learner's cards
        self.csrf = field(page.text, "csrfmiddlewaretoken") if page is not None else ""

    def on_stop(self):
        self.http.close()

    def give_up(self, account, why):
        SUMMARY["logins"]["failed"].append({"account": account, "why": why})
        raise StopUser()

    def send(self, method, path, name, *, ok=(200,), headers=None, **kwargs):
        """One request, sent again (same data) after a lost connection. Reports its final
        outcome to locust under `name`; returns the response when it is one of `ok`."""
        headers = {**(headers or {}), "X-CSRFToken": self.csrf} if method == "POST" else headers
        start, response, error = time.perf_counter(), None, None
        started_at = time.time()
        for attempt in range(1, TRIES + 1):
            try:
                response = self.http.request(
                    method, self.host + path, headers=headers, timeout=60, **kwargs
                )
                error = None
                break
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                error = exc
                SUMMARY["connection_errors"].append(
                    {
                        "at": time.time(),
                        "name": name,
                        "error": type(exc).__name__,
                        "retried": attempt < TRIES,
                    }
                )
                if attempt < TRIES:
                    time.sleep(RETRY_PAUSE)
        if error is None and response.status_code not in ok:
            error = RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        self.environment.events.request.fire(
            request_type=method,
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=len(response.content) if response is not None else 0,
            response=response,
            context={},
            exception=error,
            start_time=started_at,
            url=self.host + path,
        )
        return None if error else response

    @task
    def study_one_card(self):
        """One whole card: the next card, its answer, its grade. No card is started after the
        study time (LOADTEST_STUDY_UNTIL); locust runs on a little longer, so none is cut off."""
        if time.time() >= STUDY_UNTIL:
            time.sleep(1)
            return
        SUMMARY["cycles"] += 1
        page = self.send("GET", "/study/", "study (next card)", headers=HTMX)
        if page is None:
            return
        text = page.text
        if 'data-stage="question"' not in text:
            SUMMARY["done_pages"] += 1
            return
        card = re.search(r'action="/card/(\d+)/(reveal|answer)/"', text)
        card_id, step = card.group(1), card.group(2)
        form = {
            "token": field(text, "token"),
            "shown_at": field(text, "shown_at") or "",
            "deck": "",
            "source": "",
        }
        self.csrf = field(text, "csrfmiddlewaretoken") or self.csrf
        if step == "reveal":
            feedback = self.send(
                "GET", f"/card/{card_id}/reveal/", "reveal", headers=HTMX, params=form
            )
            response = ""
        else:
            options = re.findall(r'name="response" value="([^"]*)"', text)
            response = (
                html.unescape(random.choice(options))
                if options
                else random.choice(
                    ["12.82 trillion yuan", "innovation", "September 2023", "I don't know"]
                )
            )
            feedback = self.send(
                "POST",
                f"/card/{card_id}/answer/",
                "answer",
                headers=HTMX,
                data=form | {"response": response},
            )
        if feedback is None:
            return
        ratings = re.findall(r'name="rating" value="(\d)"', feedback.text)
        if not ratings:
            return
        response = field(feedback.text, "response") if step == "answer" else response
        data = form | {"response": response or "", "rating": random.choice(ratings)}
        SUMMARY["grades_in_flight"][form["token"]] = card_id
        graded = self.send(
            "POST",
            f"/card/{card_id}/grade/",
            "grade",
            headers=HTMX,
            data=data,
            ok=(200, 302),
            allow_redirects=False,
        )
        del SUMMARY["grades_in_flight"][form["token"]]
        SUMMARY["cycles_finished"] += 1
        if graded is not None:
            SUMMARY["acked_tokens"].append(form["token"])
        else:
            SUMMARY["grade_refusals"].append({"card": card_id, "token": form["token"]})


@events.quitting.add_listener
def write_summary(environment, **kwargs):
    stats = environment.stats
    total = stats.total

    def figures(entry):
        return {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "max_ms": entry.max_response_time,
        }

    SUMMARY["stats"] = {"total": figures(total)} | {
        f"{entry.method} {entry.name}": figures(entry) for entry in stats.entries.values()
    }
    SUMMARY["errors"] = [
        {"name": e.name, "error": str(e.error)[:300], "occurrences": e.occurrences}
        for e in stats.errors.values()
    ]
    SUMMARY["task_exceptions"] = [
        {"count": e["count"], "msg": e["msg"], "traceback": e["traceback"][-800:]}
        for e in (environment.runner.exceptions.values() if environment.runner else [])
    ]
    with open(os.environ["LOADTEST_SUMMARY"], "w", encoding="utf-8") as out:
        json.dump(SUMMARY, out)
