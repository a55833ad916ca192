"""The README's settings table is the one the code generates."""

from conftest import ROOT

from config.docs import settings_table


def test_readme_settings_table_matches_the_code():
    readme = (ROOT / "README.md").read_text()
    between = readme.split("<!-- settings:start -->")[1].split("<!-- settings:end -->")[0]
    assert between.strip() == settings_table(), "run `python -m config.docs` and paste it into README.md"


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme


def test_readme_error_table_lists_every_code():
    from chat.errors import CODES

    readme = (ROOT / "README.md").read_text()
    between = readme.split("<!-- errors:start -->")[1].split("<!-- errors:end -->")[0]
    rows = [line for line in between.strip().splitlines()[2:]]
    assert rows == [f"| `{code}` | {when} |" for code, when in CODES.items()]
