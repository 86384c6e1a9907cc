"""The moto server the local cloud deploys into (in-process, so the patches apply to it)."""

from __future__ import annotations

import logging
import os

from . import patches

log = logging.getLogger("botfleet_local.moto")

ACCOUNT_ID = "123456789012"  # moto's default account


class MotoRuntime:
    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port = 0
        self._server = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoRuntime:
        from moto.cloudformation.parsing import get_model_map
        from moto.moto_api._internal.models import moto_api_backend
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        get_model_map()  # imports every backend (~0.4 s); done here, while the synth runs
        patches.install()
        # Before the deploy: CloudFormation must create state machines in the executing backend.
        patches.set_sfn_execution(True)
        # A previous LocalCloud in this process may have left state in moto's global backends.
        moto_api_backend.reset()
        self._server = ThreadedMotoServer(self.host, 0, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        # The Step Functions interpreter calls other services at http://localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
