"""The README's generated tables (settings, presets, chat errors, refusals) are the ones the code makes."""

import pytest
from conftest import ROOT

from cli.readme import TABLES
from config.docs import presets_table, settings_table


def readme_between(marker: str) -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split(f"<!-- {marker}:start -->")[1].split(f"<!-- {marker}:end -->")[0].strip()


@pytest.mark.parametrize("table", TABLES)
def test_readme_table_matches_the_code(table):
    assert readme_between(table) == TABLES[table](), "run `python -m cli.readme --write`"


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


def test_readme_refusal_table_lists_every_code_with_its_status():
    from transports.refusals import CODES

    rows = readme_between("refusals").splitlines()[2:]
    assert [row.split("|")[1].strip(" `") for row in rows] == list(CODES)
    assert "| `too_large` | 413 |" in readme_between("refusals")


@pytest.mark.parametrize(
    "environ",
    [
        {"GATEWAY_PROFILE": "api-role"},
        {"GATEWAY_TRANSPORTS": "flashsocket"},
        {"GATEWAY_ALLOWED_ORIGINS": "https://chat.example.com/"},
    ],
)
def test_the_readmes_sample_configuration_errors_are_the_real_ones(environ):
    from config import ConfigError, load_profile

    with pytest.raises(ConfigError) as error:
        load_profile(environ=environ)
    samples = readme_between("config-errors").splitlines()
    assert f"rolegate: configuration error: {error.value}" in samples
