"""Hostile frameworks: weights that overflow, nan and inf from TOML, nesting, binary files."""

from __future__ import annotations

import pytest
from _hostile import ROOT, assert_refused, runner

from index import framework as fwmod
from index.cli import app
from index.errors import InputError

FRAMEWORK = (ROOT / "index" / "frameworks" / "cci_public.toml").read_text(encoding="utf-8")
FIRST = 'code = "it_service_revenue"\nparent = "compute"\n'


def _run(tmp_path, text: str | bytes, data):
    path = tmp_path / "fw.toml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return runner.invoke(app, ["run", "--framework", str(path), "--data", str(data)])


@pytest.mark.parametrize(
    ("line", "where", "phrase"),
    [
        ("weight = 1e308", "fw.toml:it_service_revenue:indicator.0.weight: ", "over the limit"),
        ("weight = nan", "fw.toml:it_service_revenue:indicator.0.weight: ", "finite"),
        ("weight = inf", "fw.toml:it_service_revenue:indicator.0.weight: ", "finite"),
        ("scale = nan", "fw.toml:it_service_revenue:indicator.0.scale: ", "finite"),
        ("goalposts = [nan, 1.0]", "fw.toml:it_service_revenue:indicator.0.goalposts: ", "finite"),
    ],
)
def test_numbers_that_would_publish_garbage_are_refused(
    tmp_path, bundled_inputs, line, where, phrase
):
    assert FIRST in FRAMEWORK
    result = _run(tmp_path, FRAMEWORK.replace(FIRST, FIRST + line + "\n", 1), bundled_inputs)
    assert_refused(result, where, phrase)


def test_weight_set_after_loading_is_checked_too():
    fw = fwmod.load(fwmod.DEFAULT_FRAMEWORK)
    with pytest.raises(InputError, match="weight 1e\\+308 is beyond ±1e\\+12"):
        fw.with_weights({"it_service_revenue": 1e308})


def test_framework_nested_5000_deep_is_refused(tmp_path, bundled_inputs):
    result = _run(tmp_path, "x = " + "[" * 5000 + "]" * 5000 + "\n", bundled_inputs)
    assert_refused(result, "fw.toml: ", "nested too deep")


def test_binary_framework_is_refused(tmp_path, bundled_inputs):
    result = _run(tmp_path, b"\x89PNG\r\n\x1a\n\xff\xfe" * 50, bundled_inputs)
    assert_refused(result, f"{tmp_path / 'fw.toml'}: ", "not UTF-8")


def test_framework_that_is_a_folder_is_refused(tmp_path, bundled_inputs):
    result = runner.invoke(
        app, ["run", "--framework", str(tmp_path), "--data", str(bundled_inputs)]
    )
    assert_refused(result, f"{tmp_path}: ", "is a folder")


def test_uncertainty_spec_nested_5000_deep_is_refused(tmp_path, bundled_inputs):
    spec = tmp_path / "spec.toml"
    spec.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    result = runner.invoke(
        app, ["sensitivity", "--spec", str(spec), "--data", str(bundled_inputs), "--n", "4", "-q"]
    )
    assert_refused(result, f"{spec}: ", "nested too deep")
