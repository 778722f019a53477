"""The upstream every PyPI peer in bench/pypi_bench.py proxies: a PEP 691 index on 127.0.0.1
serving the wheels in a folder (run as a child process so it never competes with the client).

    python bench/pypi_upstream.py FOLDER PORT
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "repomgr.settings")

from tests.pypi.upstream import StaticIndex  # noqa: E402


def main() -> None:
    folder, port = Path(sys.argv[1]), int(sys.argv[2])
    index = StaticIndex()
    for path in sorted(folder.iterdir()):
        index.add(path, with_metadata=path.stat().st_size < 10_000_000)
    index.start(port=port)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
