"""Reading a legacy-API upload (multipart/form-data, as twine, uv, poetry, hatch and pdm send
it): the form fields, and the distribution file streamed straight into a hashing Spool."""

import html
from dataclasses import dataclass, field

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParser, MultiPartParserError

from apps.core.errors import BadRequest
from apps.packages.storage import Spool

from .distributions import InvalidDistribution

MAX_FILENAME = 255  # what Django keeps of an uploaded file's name


class SpoolUploadHandler(FileUploadHandler):
    """Writes each uploaded file into a Spool (hashed as it arrives, on the data disk)."""

    chunk_size = 1024 * 1024

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.spool = Spool()

    def receive_data_chunk(self, raw_data, start):
        self.spool.write(raw_data)

    def file_complete(self, file_size):
        return SpooledUpload(self.spool.finish(), self.file_name, self.content_type)

    def upload_interrupted(self):
        if hasattr(self, "spool"):
            self.spool.close()


class SpooledUpload(UploadedFile):
    def __init__(self, spool: Spool, name: str, content_type: str):
        super().__init__(spool, name, content_type, spool.size)
        self.spool = spool


class _StrictParser(MultiPartParser):
    """Django quietly drops directory parts from uploaded file names and cuts long ones to 255
    characters; such an upload is refused instead, so nothing is stored under a name the
    client did not give."""

    def sanitize_file_name(self, file_name):
        raw = html.unescape(file_name)
        if "/" in raw or "\\" in raw or raw in ("", ".", "..") \
                or any(not ch.isprintable() for ch in raw):
            raise InvalidDistribution(f"Invalid filename {raw!r}: it must be a bare file name")
        if len(raw) > MAX_FILENAME:
            raise InvalidDistribution(f"Invalid filename {raw[:60]!r}...: longer than {MAX_FILENAME} characters")
        return raw


@dataclass
class Upload:
    fields: dict[str, list[str]]
    files: dict[str, SpooledUpload] = field(default_factory=dict)  # the first file of each name
    received: list[SpooledUpload] = field(default_factory=list)  # every file, to clean up

    def value(self, name: str) -> str:
        values = self.fields.get(name) or [""]
        return values[0].strip()

    def close(self) -> None:
        for upload in self.received:
            upload.spool.close()


def upload_parse(request) -> Upload:
    """The form of a legacy upload. Raises BadRequest for a body that is not a complete
    multipart form or has a NUL in a field, InvalidDistribution for a file name with path parts
    or longer than MAX_FILENAME."""
    django_request = getattr(request, "_request", request)
    content_type = django_request.META.get("CONTENT_TYPE", "")
    if not content_type.startswith("multipart/form-data"):
        raise BadRequest("An upload is a multipart/form-data POST")
    handler = SpoolUploadHandler(django_request)
    parser = _StrictParser(django_request.META, django_request, [handler], "utf-8")
    try:
        data, files = parser.parse()
    except InvalidDistribution:
        handler.upload_interrupted()
        raise
    except (MultiPartParserError, OSError, ValueError) as exc:
        handler.upload_interrupted()
        raise BadRequest(f"The upload could not be read: {exc}") from None
    upload = Upload(fields={k: data.getlist(k) for k in data},
                    files={k: files.getlist(k)[0] for k in files},
                    received=[f for k in files for f in files.getlist(k)])
    # No text column can hold a NUL (PostgreSQL refuses it), and no field has a use for one.
    nul = next((k for k, values in upload.fields.items() if "\0" in k or any("\0" in v for v in values)), None)
    if nul is not None:
        upload.close()
        raise BadRequest(f"The form field {nul!r} contains a NUL character")
    return upload
