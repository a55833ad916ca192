"""The README's settings and host presets tables are the ones the code generates."""

from conftest import ROOT

from config.docs import presets_table, settings_table


def readme_between(marker: str) -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split(f"<!-- {marker}:start -->")[1].split(f"<!-- {marker}:end -->")[0].strip()


def test_readme_settings_table_matches_the_code():
    assert readme_between("settings") == settings_table(), "run `python -m config.docs`, paste into README.md"


def test_readme_presets_table_matches_the_code():
    assert readme_between("presets") == presets_table(), "run `python -m config.docs`, paste into README.md"


def test_settings_table_has_a_column_per_role_and_presets_a_row_each():
    header = settings_table().splitlines()[0]
    assert "`web-role`" in header and "`worker-role`" in header and "heroku" not in header
    presets = presets_table()
    for preset, limit in [("heroku", "30 s"), ("azure-app-service", "230 s"), ("aws-alb", "60 s")]:
        assert f"| `{preset}` | `worker-role` | {limit} |" in presets
    assert "| `iis` | `web-role` | 120 s |" in presets
    assert "`ping_interval` = 20" in presets  # heroku's change, shown against its role


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme


def test_readme_error_table_lists_every_code():
    from chat.errors import CODES

    readme = (ROOT / "README.md").read_text()
    between = readme.split("<!-- errors:start -->")[1].split("<!-- errors:end -->")[0]
    rows = [line for line in between.strip().splitlines()[2:]]
    assert rows == [f"| `{code}` | {when} |" for code, when in CODES.items()]
