"""`flask --app govern documents import FILE... --title --slug --date --summary`."""

from datetime import UTC, datetime

import pytest

from govern.documents import services
from govern.documents.models import TextFormat

V1 = "# Bylaws\n\n## Name\n\nThe union is called Riverside Tenants.\n"
V2 = "# Bylaws\n\n## Name\n\nThe union is called Riverside Tenants' Union.\n"
V3 = "# Bylaws\n\n## Name\n\nThe union is called the Riverside Tenants' Union.\n"


@pytest.fixture
def files(tmp_path):
    """Write texts (str or bytes) to files named after their keys."""

    def write(**contents) -> list[str]:
        paths = []
        for name, content in contents.items():
            path = tmp_path / name.replace("_", ".")
            if isinstance(content, str):
                content = content.encode()
            path.write_bytes(content)
            paths.append(str(path))
        return paths

    return write


@pytest.fixture
def run(app):
    def invoke(*args: str):
        return app.test_cli_runner().invoke(args=["documents", "import", *args])

    return invoke


def test_cli_imports_a_history_of_versions_oldest_first(run, files, row_counts, clock):
    paths = files(v1_md=V1, v2_md=V2, v3_md=V3)
    result = run(
        *paths,
        "--title", "Bylaws",
        "--date", "2021-05-01", "--date", "2023-05-01", "--date", "2025-05-01",
        "--summary", "Founding.", "--summary", "Name.",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "v3.md: version 3 of Bylaws" in result.output
    document = services.find_document("bylaws")
    history = services.versions_newest_first(document)
    assert [v.number for v in history] == [3, 2, 1]
    assert [v.summary for v in history] == ["", "Name.", "Founding."]
    assert history[0].effective_at == datetime(2025, 4, 30, 22, 0, tzinfo=UTC)
    assert [services.get_version(document, n).text for n in (1, 2, 3)] == [V1, V2, V3]
    assert row_counts() == (1, 3)


def test_cli_records_when_each_version_was_ratified(run, files, row_counts, clock):
    paths = files(v1_md=V1, v2_md=V2)
    result = run(
        *paths,
        "--title", "Bylaws",
        "--date", "2021-05-01", "--date", "2023-05-01",
        "--ratified", "2021-04-20", "--ratified", "2023-04-15",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    history = services.versions_newest_first(services.find_document("bylaws"))
    assert [v.ratified_at for v in history] == [
        datetime(2023, 4, 14, 22, 0, tzinfo=UTC),
        datetime(2021, 4, 19, 22, 0, tzinfo=UTC),
    ]


def test_cli_needs_one_ratified_date_per_file(run, files, row_counts):
    paths = files(v1_md=V1, v2_md=V2)
    result = run(
        *paths, "--title", "Bylaws", "--date", "2021-05-01", "--date", "2023-05-01",
        "--ratified", "2021-04-20",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "give one --ratified per file" in result.output
    assert row_counts() == (0, 0)


def test_cli_adds_a_further_version_to_an_existing_document(
    run, files, make_document, row_counts, clock
):
    make_document([V1], title="Bylaws", slug="bylaws", dates=[datetime(2021, 5, 1, tzinfo=UTC)])
    (path,) = files(v2_md=V2)
    result = run(path, "--slug", "bylaws", "--summary", "Full name.")
    assert result.exit_code == 0, result.output
    latest = services.latest_version(services.find_document("bylaws"))
    assert (latest.number, latest.text, latest.effective_at) == (2, V2, clock())
    assert row_counts() == (1, 2)


def test_cli_imports_txt_as_plain_text(run, files, clock):
    (path,) = files(code_txt="PURPOSE\n\nWe organize.\n")
    assert run(path, "--title", "Code").exit_code == 0
    assert services.find_document("code").format == TextFormat.PLAIN


BAD_IMPORTS = [
    ("empty", {"a_md": b""}, [], "The document is empty."),
    ("whitespace only", {"a_md": b"  \n \t\n"}, [], "The document is empty."),
    ("not UTF-8", {"a_md": "Règles".encode("cp1252")}, [], "not UTF-8 text"),
    ("5 MB", {"a_md": b"Members are welcome. " * 250_000}, [], "the limit is 1 MB"),
    (
        "one bad file among good ones",
        {"a_md": V1, "b_md": b"\xff\xfe"},
        ["--date", "2021-01-01", "--date", "2022-01-01"],
        "b.md: The file is not UTF-8 text",
    ),
    (
        "dates out of order",
        {"a_md": V1, "b_md": V2},
        ["--date", "2023-01-01", "--date", "2022-01-01"],
        "import versions oldest first",
    ),
    ("future date", {"a_md": V1}, ["--date", "2026-03-02"], "is in the future"),
    (
        "date before 1800",  # 0001-01-01 in Europe/Berlin is before year 1 in UTC
        {"a_md": V1},
        ["--date", "0001-01-01"],
        "The date January 1, 1 is too far in the past; give a date from 1800 on.",
    ),
    ("duplicate slug", {"a_md": V2}, [], None),
    ("same text as before", {"a_md": V3}, ["--slug", "existing"], "same as version 1"),
    (
        "same text twice",
        {"a_md": V1, "b_md": V1},
        ["--date", "2021-01-01", "--date", "2022-01-01"],
        "b.md: The text is the same as version 1.",
    ),
]


@pytest.mark.parametrize(
    ("contents", "options", "message"),
    [case[1:] for case in BAD_IMPORTS],
    ids=[case[0] for case in BAD_IMPORTS],
)
def test_bad_cli_import_fails_with_a_clear_message_and_changes_nothing(
    run, files, make_document, row_counts, clock, contents, options, message
):
    make_document([V3], title="Existing", slug="existing", dates=[datetime(2020, 1, 1, tzinfo=UTC)])
    before = row_counts()
    title = ["--title", "Existing"] if message is None else ["--title", "New bylaws"]
    result = run(*files(**contents), *title, *options)
    assert result.exit_code == 1
    assert (message or "exists already") in result.output
    assert "Nothing was imported." in result.output
    assert row_counts() == before == (1, 1)


def test_cli_new_document_without_title_is_refused(run, files, row_counts):
    result = run(*files(a_md=V1))
    assert result.exit_code == 2
    assert "a new document needs --title" in result.output
    assert row_counts() == (0, 0)


def test_cli_several_files_need_one_date_each(run, files, row_counts):
    result = run(*files(a_md=V1, b_md=V2), "--title", "Bylaws", "--date", "2021-01-01")
    assert result.exit_code == 2
    assert "give one --date per file" in result.output
    assert row_counts() == (0, 0)
