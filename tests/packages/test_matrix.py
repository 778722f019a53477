import pytest

from apps.packages.matrix import parse_properties, split_matrix


def test_matrix_parameters_split_from_path():
    assert split_matrix("a/b.bin;build.name=app;build.number=42;tags=x,y") == (
        "a/b.bin", {"build.name": ["app"], "build.number": ["42"], "tags": ["x", "y"]})
    assert split_matrix("a/b.bin") == ("a/b.bin", {})


def test_properties_syntax_with_escapes_and_pipes():
    assert parse_properties(r"a=1,2;b=3|c=x\,y;d=p\=q") == {
        "a": ["1", "2"], "b": ["3"], "c": ["x,y"], "d": ["p=q"]}


def test_property_without_key_is_an_error():
    with pytest.raises(ValueError):
        parse_properties("=v")
