"""Operator settings, read identically by the Jupyter extension, ``modelvault serve`` and the CLI.

Set them in ``jupyter_server_config.py`` / ``jupyter_modelvault_config.py`` as
``c.VaultSettings.<name> = …``, or on the command line (``--VaultSettings.<name>=…``).
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from traitlets import Bool, Dict, Float, Int, List, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from .core.pypi import PypiOptions
from .core.vault import VaultOptions

MiB = 1024 * 1024


class VaultSettings(LoggingConfigurable):
    data_dir = Unicode(
        help="""Folder holding the embedded vault: metadata.sqlite3 (SQLite, WAL) and blobs/
        (content-addressed files). Defaults to $MODELVAULT_DATA_DIR, else
        <jupyter data dir>/modelvault.""",
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return os.environ.get("MODELVAULT_DATA_DIR") or str(Path(jupyter_data_dir()) / "modelvault")

    @validate("data_dir")
    def _validate_data_dir(self, proposal: dict[str, str]) -> str:
        return str(Path(proposal["value"]).expanduser().resolve())

    default_hf_repository = Unicode(
        "models",
        help="""Key of an hf-local repository created at first start so that the vault is usable
        at once (empty: create none).""",
    ).tag(config=True)

    public_url = Unicode(
        "",
        help="""Absolute URL clients use to reach this server (e.g. https://vault.example.com/),
        used in absolute links (LFS upload URLs, pagination). Empty: derived from each request's
        Host header.""",
    ).tag(config=True)

    regular_upload_max_bytes = Int(
        10 * MiB,
        help="""Files up to this size are uploaded inline in the commit ('regular' preupload
        mode), which works with a stock huggingface_hub even when hf_xet is installed. Larger
        files use Git LFS, which needs HF_HUB_DISABLE_XET=1 on the client.""",
    ).tag(config=True)

    lfs_multipart_threshold_bytes = Int(
        5 * 1024 * MiB,
        help="LFS objects larger than this are uploaded in parts (Hub multipart transfer).",
    ).tag(config=True)

    lfs_part_size_bytes = Int(
        512 * MiB, help="Part size offered to clients for multipart LFS uploads."
    ).tag(config=True)

    download_chunk_bytes = Int(
        1 * MiB,
        help="""Bytes read from storage and written to the socket per step when serving a file.
        Bounds memory per download.""",
    ).tag(config=True)

    offline = Bool(
        False,
        help="""Never contact any upstream (all remote repositories at once): serve only what
        is cached; uncached models, projects and files answer 503. A remote repository (hf-remote,
        pypi-remote) can also be switched offline alone with its config {"offline": true}.""",
    ).tag(config=True)

    upstream_timeout_seconds = Float(
        10.0,
        help="""Seconds to wait for an upstream to connect or to send the next bytes before
        giving up (then what is cached is served, marked stale). Per remote repository:
        config {"timeout_seconds": N}.""",
    ).tag(config=True)

    pypi_remote_ttl_seconds = Float(
        1800.0,
        help="""How long a pypi-remote repository uses a cached project page before asking the
        upstream again (revalidated with ETag when the upstream sends one). Files are cached
        forever. Per repository: config {"ttl_seconds": N}.""",
    ).tag(config=True)

    pypi_remote_negative_ttl_seconds = Float(
        300.0,
        help="""How long a pypi-remote repository remembers that its upstream does not have a
        project (404) before asking again. Per repository: config {"negative_ttl_seconds": N}.""",
    ).tag(config=True)

    pypi_upload_max_bytes = Int(
        4 * 1024 * MiB,
        help="""Largest distribution file accepted by a pypi-local upload (twine, uv publish).
        Uploads stream to disk, so this bounds disk use, not memory.""",
    ).tag(config=True)

    # -- kernels (see modelvault_jlab.kernel_env) --
    kernel_env_enabled = Bool(
        True,
        help="""Give every kernel started by this Jupyter server an environment pointing at the
        vault (HF_ENDPOINT, HF_TOKEN, PIP_INDEX_URL/UV_INDEX_URL, timeouts) and a read token
        minted for it, tied to its notebook for the audit log. False: kernels start untouched.""",
    ).tag(config=True)

    kernel_hf_repository = Unicode(
        "models",
        help="""Repository whose Hub endpoint kernels get as HF_ENDPOINT (e.g. an hf-virtual
        repository in front of local and remote ones).""",
    ).tag(config=True)

    kernel_pypi_repository = Unicode(
        "",
        help="""Repository whose Simple index kernels get as PIP_INDEX_URL/UV_INDEX_URL (with the
        kernel's token as credentials). Empty: pip and uv are left alone.""",
    ).tag(config=True)

    kernel_token_ttl_seconds = Float(
        7 * 24 * 3600.0,
        help="""Lifetime of the read token minted for each kernel; it is also revoked when the
        kernel is shut down.""",
    ).tag(config=True)

    kernel_env_extra = Dict(
        {
            "HF_HUB_DOWNLOAD_TIMEOUT": "120",
            "HF_HUB_ETAG_TIMEOUT": "60",
            "PIP_DEFAULT_TIMEOUT": "120",
            "UV_HTTP_TIMEOUT": "120",
        },
        help="""More variables for kernels. The defaults give a cold fetch time to be pulled from
        the upstream and scanned before its first byte arrives.""",
    ).tag(config=True)

    bundle_environments = List(
        Unicode(),
        default_value=["DEV", "QA", "PROD"],
        minlen=1,
        help="""Ordered environments a release bundle is promoted through; a promotion may only
        go to the next one (the first promotion enters the first).""",
    ).tag(config=True)

    bundle_key_dir = Unicode(
        "",
        help="""Folder of the Ed25519 keys that sign bundles and promotions (signing/) and of
        the public keys of other vaults trusted for imports (trusted/). Empty:
        <data_dir>/bundle-keys. Keep it private and backed up.""",
    ).tag(config=True)

    def pypi_options(self) -> PypiOptions:
        return PypiOptions(
            remote_ttl_seconds=self.pypi_remote_ttl_seconds,
            negative_ttl_seconds=self.pypi_remote_negative_ttl_seconds,
            upstream_timeout_seconds=self.upstream_timeout_seconds,
            offline=self.offline,
            upload_max_bytes=self.pypi_upload_max_bytes,
        )

    def options(self) -> VaultOptions:
        return VaultOptions(
            regular_upload_max_bytes=self.regular_upload_max_bytes,
            offline=self.offline,
            upstream_timeout_seconds=self.upstream_timeout_seconds,
            lfs_multipart_threshold_bytes=self.lfs_multipart_threshold_bytes,
            lfs_part_size_bytes=self.lfs_part_size_bytes,
        )
