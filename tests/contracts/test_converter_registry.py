"""Building converters from config specs: errors that say what is wrong and list the known names;
the registry refuses what is not a converter and serves a registered one to a config."""

from __future__ import annotations

import pytest

from legacy_bridge.config import validate
from legacy_bridge.contracts import converter_base
from legacy_bridge.contracts.converters import ConversionError, Converter, build, known, register


def test_an_unknown_name_lists_the_known_names():
    with pytest.raises(ConversionError) as exc:
        build("yyyymmd")
    message = str(exc.value)
    assert "unknown converter 'yyyymmd'" in message
    assert "known: " + ", ".join(known()) in message
    assert {"trim", "yyyymmdd", "flag", "decimal", "code"} <= set(known())


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"trim": {"widht": 8}}, "converter 'trim': bad options {'widht': 8}"),
        ({"trim": {"width": "8"}}, "'width' must be a whole number >= 0"),
        ({"decimal": {"scale": -1}}, "'scale' must be a whole number >= 0"),
        ({"decimal": {"implied": 1.5}}, "'implied' must be a whole number >= 0"),
        ({"yyyymmdd": {"as": "date"}}, "'as' must be int or str"),
        ({"hhmmss": {"as": 6}}, "'as' must be int or str"),
        ({"code": {"codes": {}}}, "'codes' must map legacy codes to names"),
        ({"trim": 40}, "converter 'trim': bad options {'value': 40}"),
        ({"trim": {}, "int": {}}, "expected a converter name"),
        (42, "expected a converter name, {name: options} or a list, got 42"),
        ([], "an empty converter list"),
        (["trim", "nope"], "unknown converter 'nope'"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, words):
    with pytest.raises(ConversionError) as exc:
        build(spec)
    assert words in str(exc.value)


def test_no_converter_is_identity():
    conv = build(None)
    assert conv.to_canonical("x") == "x" and conv.to_legacy(5) == 5 and conv.name == "none"


def test_register_refuses_what_is_not_a_converter():
    with pytest.raises(TypeError, match="not a Converter subclass"):
        register(object)
    with pytest.raises(TypeError, match="not a Converter subclass"):
        register(Converter())


@pytest.fixture
def upper():
    @register
    class Upper(Converter):
        name = "upper_test"
        type = "string"

        def to_canonical(self, value):
            return value.upper()

        def to_legacy(self, value):
            return value.lower()

    yield Upper
    converter_base._REGISTRY.pop("upper_test")


def test_a_registered_converter_is_usable_from_a_config(upper):
    assert "upper_test" in known()
    config = validate(
        {
            "sources": {"crm": {"kind": "odbc", "connection": "DSN=crm"}},
            "resources": {
                "things": {
                    "source": "crm",
                    "table": "T",
                    "key": "id",
                    "fields": {
                        "id": {"column": "ID"},
                        "code": {"column": "CD", "converter": "upper_test", "filter": True},
                    },
                }
            },
        }
    )
    conv = config.resources["things"].mapping.fields["code"].converter
    assert isinstance(conv, upper)
    assert conv.reader()("abc") == "ABC" and conv.to_legacy("ABC") == "abc"
