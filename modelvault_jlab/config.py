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

from .core.egress import EgressPolicy
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

    # -- metadata database (see modelvault_jlab.storage.sql) --
    database_url = Unicode(
        help="""Where metadata lives. Empty: SQLite at <data_dir>/metadata.sqlite3.
        postgresql://user:password@host:5432/db (libpq URL; password also from PGPASSWORD or
        ~/.pgpass): PostgreSQL, which replicas can share. sqlite:///path: SQLite elsewhere.
        Defaults to $MODELVAULT_DATABASE_URL. The password is never logged.""",
    ).tag(config=True)

    @default("database_url")
    def _default_database_url(self) -> str:
        return os.environ.get("MODELVAULT_DATABASE_URL", "")

    database_migrate_on_start = Bool(
        True,
        help="""Apply pending schema migrations at start (under a lock, so replicas starting
        together migrate once). False: start fails while migrations are pending; apply them with
        `modelvault db migrate`.""",
    ).tag(config=True)

    def database_target(self) -> str:
        """The URL (or SQLite path) of the metadata database."""
        return self.database_url or str(Path(self.data_dir) / "metadata.sqlite3")

    # -- blob storage (see modelvault_jlab.storage.blobs_s3) --
    blob_store_url = Unicode(
        "",
        help="""Where blobs (file contents) live. Empty: <data_dir>/blobs on the local
        filesystem. s3://bucket/prefix: an S3-compatible bucket (AWS S3, MinIO, Ceph RGW), shared
        by replicas; metadata stays where data_dir/the metadata settings say. Credentials come
        from s3_access_key_id/s3_secret_access_key, else the usual AWS chain (AWS_* variables,
        ~/.aws, instance or container role).""",
    ).tag(config=True)

    s3_endpoint_url = Unicode(
        "",
        help="Endpoint of an S3-compatible server (e.g. http://minio:9000). Empty: AWS S3.",
    ).tag(config=True)

    s3_presign_endpoint_url = Unicode(
        "",
        help="""Endpoint put into presigned download URLs, when clients reach the object store
        under another name than this server does (e.g. https://s3.example.com vs
        http://minio:9000). Empty: s3_endpoint_url.""",
    ).tag(config=True)

    s3_region = Unicode("", help="S3 region. Empty: from the AWS configuration.").tag(config=True)

    s3_access_key_id = Unicode(
        "", help="S3 access key id. Empty: the usual AWS credential chain."
    ).tag(config=True)

    s3_secret_access_key = Unicode(
        "",
        help="""S3 secret key (prefer the AWS credential chain or a config file readable only by
        the server; it is never logged). Empty: the usual AWS credential chain.""",
    ).tag(config=True)

    s3_create_bucket = Bool(
        False,
        help="""Create the bucket at start-up when it does not exist (tests, development).
        False: a missing bucket is an error at start-up.""",
    ).tag(config=True)

    s3_part_size_bytes = Int(
        16 * MiB,
        help="""Size of the parts blobs are uploaded in (at least 5 MiB). Memory used by uploads
        is about s3_part_size_bytes x s3_max_concurrency, whatever the blob sizes.""",
    ).tag(config=True)

    s3_max_concurrency = Int(
        8, help="Parallel requests to the object store for part uploads and batches."
    ).tag(config=True)

    s3_incomplete_max_age_seconds = Float(
        24 * 3600.0,
        help="""At start-up, multipart uploads and staging objects older than this are taken for
        abandoned and removed. Replicas share the bucket, so younger ones may belong to a live
        writer and are kept (a bucket lifecycle rule AbortIncompleteMultipartUpload is a good
        complement).""",
    ).tag(config=True)

    blob_download_redirect = Bool(
        False,
        help="""Answer downloads of cached, admitted files (Hub resolve, PyPI files) with a 302 to
        a presigned URL of the object store, so the bytes do not pass through this server (the
        gate still runs first; files still streaming in from an upstream are served directly).
        Needs a blob store that can presign (s3://) and clients that can reach it.""",
    ).tag(config=True)

    blob_redirect_expires_seconds = Int(
        300,
        help="""Lifetime of presigned download URLs. It must cover the start of the download (and
        of a resumed one), not its end.""",
    ).tag(config=True)

    xet_token_ttl_seconds = Int(
        600,
        help="""Lifetime of the Xet CAS tokens handed to hf_xet (xet-write-token,
        xet-read-token). Short, so that revoking a Hub token takes effect at the client's next
        refresh.""",
    ).tag(config=True)

    xet_fetch_url_seconds = Int(
        300,
        help="""Lifetime of the signed xorb fetch URLs in Xet reconstructions (an expired URL
        makes the client ask for a new reconstruction).""",
    ).tag(config=True)

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
        mode). Larger files go through Xet (hf_xet, the default) or Git LFS (with
        HF_HUB_DISABLE_XET=1).""",
    ).tag(config=True)

    lfs_multipart_threshold_bytes = Int(
        5 * 1024 * MiB,
        help="LFS objects larger than this are uploaded in parts (Hub multipart transfer).",
    ).tag(config=True)

    lfs_part_size_bytes = Int(
        512 * MiB, help="Part size offered to clients for multipart LFS uploads."
    ).tag(config=True)

    request_body_max_bytes = Int(
        4 * MiB,
        help="""Largest request body of a route that reads its body into memory (JSON API,
        forms, LFS batch); larger ones get 413. Uploads (commits, LFS objects, packages,
        bundle archives) stream to disk and have their own limits.""",
    ).tag(config=True)

    lfs_max_object_bytes = Int(
        50 * 1000 * 1000 * 1000,
        help="""Largest file accepted through Git LFS (the Hub's limit is 50 GB); a batch
        request announcing a larger object is refused.""",
    ).tag(config=True)

    auth_failure_burst = Int(
        30,
        help="""Failed authentications a source address may make in a row before every
        authentication from it is refused with 429 (Retry-After) until it slows down. Defaults
        to $MODELVAULT_AUTH_FAILURE_BURST, else 30.""",
    ).tag(config=True)

    @default("auth_failure_burst")
    def _default_auth_failure_burst(self) -> int:
        return int(os.environ.get("MODELVAULT_AUTH_FAILURE_BURST") or 30)

    metrics_enabled = Bool(
        True,
        help="""Count requests, cache lookups, upstream calls, scans and lease waits for
        ``modelvault/metrics``. False: the endpoint answers an empty registry.""",
    ).tag(config=True)

    metrics_token = Unicode(
        "",
        help="""A secret Prometheus may present (``Authorization: Bearer``) to read
        ``modelvault/metrics`` and nothing else; admin tokens work too. Defaults to
        $MODELVAULT_METRICS_TOKEN; empty: admin tokens only.""",
    ).tag(config=True)

    @default("metrics_token")
    def _default_metrics_token(self) -> str:
        return os.environ.get("MODELVAULT_METRICS_TOKEN", "")

    auth_failures_per_second = Float(
        0.5, help="Failed authentications forgiven per second and source address."
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

    # -- replicas (several processes on one database + blob store; see core/leases.py) --
    replica_wait_seconds = Float(
        7.0,
        help="""How long a replica waits for another replica's upstream transfer (or large
        scan) of the same file before doing it itself. The client gets no byte meanwhile, so keep
        it below the clients' read timeout (huggingface_hub: 10 s, pip: 15 s).""",
    ).tag(config=True)

    lease_ttl_seconds = Float(
        6.0,
        help="""How long work a replica claimed (a transfer, a scan, a background job) stays
        claimed after that replica stops renewing it (killed, frozen); renewed every third.""",
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

    # -- a central vault (Jupyter extension only; see modelvault_jlab.jupyter.central_proxy) --
    remote_url = Unicode(
        "",
        help="""Root URL of a central ModelVault (e.g. https://vault.example.com/) this Jupyter
        server uses instead of an embedded vault: no data_dir or SQLite is opened, the sidebar API
        is forwarded there with the user's token, and kernels point directly at it.""",
    ).tag(config=True)

    remote_token = Unicode(
        "",
        help="""The user's token on the central vault (remote_url). Empty: read from
        remote_token_file, else $MODELVAULT_TOKEN (which JupyterHub can set per user), else the
        single-user server's $JUPYTERHUB_API_TOKEN (a central vault run with
        ``serve --jupyterhub`` accepts it: the user's Hub identity, nothing to copy).""",
    ).tag(config=True)

    remote_token_file = Unicode(
        "",
        help="""File holding the user's token on the central vault (first line), used when
        remote_token is empty.""",
    ).tag(config=True)

    # -- kernels (see modelvault_jlab.jupyter.kernel_env) --
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

    secrets_key_file = Unicode(
        "",
        help="""File holding the key that encrypts upstream credentials (hf-remote
        upstream_token, pypi-remote upstream_password) in the metadata database; created 0600
        when missing. Empty: <data_dir>/secrets.key. Defaults to $MODELVAULT_SECRETS_KEY_FILE.
        Keep it out of database backups, back it up separately, and give every replica the same
        file (a mounted secret).""",
    ).tag(config=True)

    @default("secrets_key_file")
    def _default_secrets_key_file(self) -> str:
        return os.environ.get("MODELVAULT_SECRETS_KEY_FILE", "")

    upstream_allow_hosts = List(
        Unicode(),
        default_value=[],
        help="""Host names (or addresses) remote repositories may reach whatever they resolve
        to: an internal service on a link-local address you vouch for. Every other host is
        refused when it is, or resolves to, a link-local or cloud-metadata address
        (169.254.169.254, fe80::/10, 100.100.100.200, fd00:ec2::254, metadata.google.internal,
        ...), checked when a repository is configured and at every connection.""",
    ).tag(config=True)

    upstream_allow_loopback = Bool(
        True, help="Remote repositories may reach loopback addresses (127.0.0.0/8, ::1)."
    ).tag(config=True)

    upstream_allow_private_networks = Bool(
        True,
        help="""Remote repositories may reach private addresses (10/8, 172.16/12, 192.168/16,
        fc00::/7): a company's internal index. False: only public addresses (and
        upstream_allow_hosts).""",
    ).tag(config=True)

    def egress_policy(self) -> EgressPolicy:
        return EgressPolicy(
            allow_hosts=frozenset(self.upstream_allow_hosts),
            allow_loopback=self.upstream_allow_loopback,
            allow_private=self.upstream_allow_private_networks,
        )

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
            lfs_max_object_bytes=self.lfs_max_object_bytes,
            auth_failure_burst=self.auth_failure_burst,
            auth_failures_per_second=self.auth_failures_per_second,
            replica_wait_seconds=self.replica_wait_seconds,
            lease_ttl_seconds=self.lease_ttl_seconds,
            blob_redirect_seconds=(
                self.blob_redirect_expires_seconds if self.blob_download_redirect else 0
            ),
            metrics_enabled=self.metrics_enabled,
            xet_token_ttl_seconds=self.xet_token_ttl_seconds,
            xet_fetch_url_seconds=self.xet_fetch_url_seconds,
        )
