"""Core metadata and project names as an upload is checked against them: pure functions, no
database. Uploads end to end are in test_bad_input.py."""

import pytest

from apps.pypi.distributions import InvalidDistribution, metadata_fields, valid_project_name

# Headers as real build backends write them (descriptions left out), each with a quirk that a
# full packaging.metadata validation would refuse although the file installs and PyPI holds it.
REAL_WORLD = {
    "setuptools 68": """Metadata-Version: 2.1
Name: acme-tools
Version: 3.2.0
Home-page: https://example.org/acme
License: MIT
Classifier: Programming Language :: Python :: 3
Requires-Python: >=3.8
Description-Content-Type: text/markdown
License-File: LICENSE
Requires-Dist: requests>=2.28
Requires-Dist: pytest; extra == "test"
Provides-Extra: test
""",
    "hatchling 1.25": """Metadata-Version: 2.3
Name: platformdirs
Version: 4.3.6
License-Expression: MIT
License-File: LICENSE
Requires-Python: >=3.8
Provides-Extra: docs
Requires-Dist: furo>=2024.8.6; extra == 'docs'
""",
    "bdist_wheel 0.29": """Metadata-Version: 2.0
Name: six-ish
Version: 1.10.0
Summary: old wheel
Requires-Dist: six (>=1.9)
Requires-Dist: pywin32 (>=219); sys_platform == "win32"
Provides-Extra: test
Requires-Dist: nose; extra == 'test'
""",
    "maturin 1.7": """Metadata-Version: 2.4
Name: fast_thing
Version: 0.5.1
Requires-Dist: numpy >=1.20 ; extra == 'numpy'
Provides-Extra: numpy
License-File: LICENSE
Summary: fast
Requires-Python: >=3.9
Project-URL: Source, https://example.org/fast
""",
    "poetry-core 1.9": """Metadata-Version: 2.1
Name: poetic
Version: 1.0.0rc1
Requires-Python: >=3.8,<4.0
Classifier: Programming Language :: Python :: 3.12
Provides-Extra: socks
Requires-Dist: requests (>=2.28,<3.0)
Requires-Dist: pysocks (>=1.7) ; (python_version >= "3.8") and (extra == "socks")
""",
    "distutils": """Metadata-Version: 1.0
Name: ancient
Version: 0.1
Summary: UNKNOWN
Description: UNKNOWN
X-Unknown-Header: left alone
""",
}


@pytest.mark.parametrize("tool", REAL_WORLD)
def test_metadata_is_checked_where_an_index_relies_on_it_and_nowhere_else(tool):
    """What real build backends write is accepted; the same metadata with a broken dependency
    is not (the index hands Requires-Dist to resolvers through the PEP 658 metadata)."""
    metadata = REAL_WORLD[tool]
    assert metadata_fields(metadata.encode())["version"]
    # Metadata 1.0 has no Requires-Dist at all (it came in 1.2): refused for being there.
    why = "introduced in metadata version 1.2" if tool == "distutils" else "'broken >=' is invalid"
    with pytest.raises(InvalidDistribution, match=why):
        metadata_fields((metadata + "Requires-Dist: broken >=\n").encode())


def test_project_names_are_pep_508_names_in_ascii():
    assert all(map(valid_project_name, ["requests", "zope.interface", "A", "a_b-c.d9"]))
    # 'ſ' and the Kelvin sign match [A-Z] under IGNORECASE unless the pattern is ASCII-only.
    for name in ["\u017fetuptools", "Kelvin\u212a", "pip\n", "odd name", "-lead", ""]:
        assert not valid_project_name(name), name
