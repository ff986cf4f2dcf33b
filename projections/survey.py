"""The staff survey's read model: the rounds, and the answers as the results will
count them (docs/implementation.md, "The staff survey").

A projection of events. An answer's row holds its round, the service and sector of
its code, the role when the round asked for it, the Levels of Use, the drivers and
the result items; never a code, a code's hash, a staff id or a time finer than the
day. The use of a code (`SurveyCodeUsed`) is not read here at all.
"""

from __future__ import annotations

import json
import sqlite3

from domain.aggregate import DomainEvent
from domain.survey import SurveyAnswered, SurveyRoundOpened


class SurveyProjection:
    name = "survey"
    topics = frozenset({SurveyRoundOpened.__name__, SurveyAnswered.__name__})
    TABLES = ("sv_rounds", "sv_answers")

    def create(self, db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS sv_rounds (round_id TEXT PRIMARY KEY,"
                   " municipality TEXT NOT NULL, opens_on TEXT NOT NULL,"
                   " closes_on TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS sv_answers (round_id TEXT NOT NULL,"
                   " position BIGINT NOT NULL, service TEXT NOT NULL, sector TEXT NOT NULL,"
                   " role TEXT, level_of_use INTEGER NOT NULL, drivers TEXT NOT NULL,"
                   " results TEXT NOT NULL, PRIMARY KEY (round_id, position))")

    def clear(self, db: sqlite3.Connection) -> None:
        for table in self.TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def apply(self, db: sqlite3.Connection, event: DomainEvent, position: int) -> None:
        round_id = str(event.originator_id)
        if isinstance(event, SurveyRoundOpened):
            db.execute("INSERT INTO sv_rounds (round_id, municipality, opens_on, closes_on)"
                       " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (round_id, event.municipality, event.opens_on.isoformat(),
                        event.closes_on.isoformat()))
        elif isinstance(event, SurveyAnswered):
            db.execute("INSERT INTO sv_answers (round_id, position, service, sector, role,"
                       " level_of_use, drivers, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT DO NOTHING",
                       (round_id, position, event.service, event.sector, event.role,
                        event.level_of_use, json.dumps(event.drivers, sort_keys=True),
                        json.dumps(event.results, sort_keys=True)))
