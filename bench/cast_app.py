"""The app as gunicorn serves it, plus the floor that bench/cast.py measures votes against:
a form posted with its CSRF token that writes one row and commits, and nothing else.

Run by bench/cast.py as `gunicorn --pythonpath bench cast_app:app`; not part of govern.
"""

from contextlib import suppress

import sqlalchemy as sa
from flask import request

from govern import create_app
from govern.extensions import db

FLOOR = sa.Table(
    "bench_floor_writes",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("note", sa.String(100)),
)

app = create_app()


@app.post("/bench/floor")
def floor() -> str:
    db.session.execute(sa.insert(FLOOR).values(note=request.form.get("note", "")))
    db.session.commit()
    return "written"


# Another worker, starting at the same moment, may have created it first.
with app.app_context(), suppress(sa.exc.DBAPIError):
    FLOOR.create(db.engine, checkfirst=True)
