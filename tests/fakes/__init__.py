"""In-process fakes of external services, so end-to-end tests never touch the network."""

from tests.fakes.telegram_server import Call, FakeTelegram, UploadedFile

__all__ = ["Call", "FakeTelegram", "UploadedFile"]
