"""Chat templates: every way of naming an attribute is flagged, real templates stay clean.

Live proofs: a flagged template runs its payload when rendered the way llama-cpp-python did
before CVE-2024-34359 (an unsandboxed ``jinja2.Environment``); transformers' sandboxed renderer
refuses it (shown too, so the finding is honest about which renderers are at risk).
"""

from __future__ import annotations

import json
import struct

import pytest

from modelvault_jlab.core.scanning import Verdict

from .live import MARKER, payload_runs

_OPEN = f"('{MARKER}','w').write('1')"
#: Each reaches ``open`` through jinja2.utils' globals from ``cycler`` without a plain dunder.
ATTACKS = {
    "concat": "{{ cycler['__in'+'it__']['__glo'+'bals__']['__buil'+'tins__']['open']%s }}",
    "tilde": "{{ cycler['__in' ~ 'it__']['__glo' ~ 'bals__']['__buil' ~ 'tins__'].open%s }}",
    "attr": "{{ (cycler|attr('__init__')|attr('__globals__'))['__builtins__']['open']%s }}",
    "map": ("{{ ([cycler]|map(attribute='__init__.__globals__.__builtins__.open')|first)%s }}"),
    "map-attr-filter": (
        "{{ (([cycler]|map('attr','__init__')|first).__globals__.__builtins__.open)%s }}"
    ),
    "format": (
        "{%% set u = '%%c'|format(95) %%}{%% set g = u*2 ~ 'globals' ~ u*2 %%}"
        "{{ cycler[u*2 ~ 'init' ~ u*2][g][u*2 ~ 'builtins' ~ u*2]['open']%s }}"
    ),
    "set-block": (
        "{%% set i %%}__init__{%% endset %%}{%% set g %%}__globals__{%% endset %%}"
        "{%% set b %%}__builtins__{%% endset %%}{{ cycler[i][g][b]['open']%s }}"
    ),
    "reverse": "{{ cycler['__tini__'|reverse]['__slabolg__'|reverse]['__snitliub__'|reverse]"
    "['open']%s }}",
    "lipsum-chars": (
        "{%% set u = (lipsum|string)[18] %%}"
        "{{ cycler[u~u~'init'~u~u][u~u~'globals'~u~u][u~u~'builtins'~u~u]['open']%s }}"
    ),
    "namespace": (
        "{%% set ns = namespace(a='') %%}{%% set ns.a = '__in' ~ 'it__' %%}"
        "{{ cycler[ns.a]['__glo'+'bals__']['__buil'+'tins__']['open']%s }}"
    ),
    "selectattr": (
        "{{ ([cycler.__init__]|selectattr('__globals__')|first).__globals__.__builtins__.open%s }}"
    ),
}
ATTACKS = {k: v % _OPEN for k, v in ATTACKS.items()}

UNSANDBOXED = (
    "import jinja2,sys\n"
    "jinja2.Environment(trim_blocks=True, lstrip_blocks=True)"
    ".from_string(open(sys.argv[1]).read()).render(messages=[])"
)
TRANSFORMERS = (
    "import sys\n"
    "from transformers.utils.chat_template_utils import render_jinja_template\n"
    "try:\n"
    "    render_jinja_template(conversations=[[{'role':'user','content':'hi'}]],"
    " chat_template=open(sys.argv[1]).read())\n"
    "except Exception as e:\n"
    "    print(type(e).__name__)\n"
)

BENIGN = {
    "generation": (
        "{% for m in messages %}{% if m['role'] == 'assistant' %}{% generation %}"
        "{{ m['content'] + eos_token }}{% endgeneration %}{% else %}"
        "{{ '<|' + m['role'] + '|>' + m['content'] }}{% endif %}{% endfor %}"
    ),
    "indices": (
        "{% set ns = namespace(last=-1) %}{% for m in messages %}"
        "{% if loop.index0 > 0 %}{{ messages[loop.index0 - 1]['role'] }}{% endif %}"
        "{% set ns.last = loop.index0 %}{% endfor %}{{ messages[ns.last].content }}"
        "{% for i in range(messages|length) %}{{ messages[i]['content'] }}{% endfor %}"
        "{{ messages[-1]['content'].split('</think>')[-1] }}{{ messages[1:]|length }}"
    ),
    "tools": (
        "{% for tool in tools %}{% for name, p in tool.parameters.properties|items %}"
        "{% for k in p %}{{ k }}={{ p[k]|string }}{% endfor %}{% endfor %}{% endfor %}"
        "{{ tools|map(attribute='function.name')|join(', ') }}"
        "{{ messages|selectattr('role', 'equalto', 'user')|list|length }}"
        "{{ (messages|first)|attr('content') }}{{ roles['system'] if roles is defined }}"
    ),
}


def _tokenizer_config(template: object, lead: str = "") -> bytes:
    return (lead + json.dumps({"chat_template": template, "eos_token": "</s>"})).encode()


def _gguf(template: str) -> bytes:
    def s(x: str) -> bytes:
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    return (
        b"GGUF"
        + struct.pack("<IQQ", 3, 0, 1)
        + s("tokenizer.chat_template")
        + struct.pack("<I", 8)
        + s(template)
    )


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_flagged_wherever_the_template_lives(scan, name):
    tpl = ATTACKS[name]
    for data, hint in (
        (tpl.encode(), "chat_template.jinja"),
        (tpl.encode(), "additional_chat_templates/tools.jinja"),
        (_tokenizer_config(tpl), "tokenizer_config.json"),
        (_tokenizer_config([{"name": "default", "template": tpl}]), "tokenizer_config.json"),
        (_tokenizer_config(tpl, lead=" \n" * 40_000), "tokenizer_config.json"),
        (_gguf(tpl), "model.gguf"),
    ):
        report = scan.bytes(data, name_hint=hint)
        assert report.verdict is not Verdict.CLEAN, (name, hint)
        assert any(f.rule.startswith("chat-template-") for f in report.findings), hint


def test_constant_built_names_are_graded_malicious(scan):
    folded = ("concat", "tilde", "attr", "map", "map-attr-filter", "format", "set-block")
    for name in (*folded, "reverse", "namespace", "selectattr"):
        report = scan.bytes(ATTACKS[name].encode(), name_hint="chat_template.jinja")
        assert report.verdict is Verdict.MALICIOUS, (name, report.findings)


def test_attacks_run_unsandboxed_and_transformers_refuses_them(tmp_path):
    for name in ATTACKS:
        assert payload_runs(UNSANDBOXED, ATTACKS[name].encode(), name="t.jinja"), name
    assert not payload_runs(TRANSFORMERS, ATTACKS["concat"].encode(), name="t.jinja")


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_real_template_shapes_are_clean(scan, name):
    for data, hint in (
        (BENIGN[name].encode(), "chat_template.jinja"),
        (_tokenizer_config(BENIGN[name]), "tokenizer_config.json"),
        (_gguf(BENIGN[name]), "model.gguf"),
    ):
        report = scan.bytes(data, name_hint=hint)
        assert report.verdict is Verdict.CLEAN, (name, hint, report.findings)


def test_generation_tag_renders_in_transformers():
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, masks = render_jinja_template(
        conversations=[[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]],
        chat_template=BENIGN["generation"],
        return_assistant_tokens_mask=True,
        eos_token="</s>",
    )
    assert rendered == ["<|user|>qa</s>"] and masks


def test_oversized_templates_and_configs_are_errors(scan, engine):
    cap = engine.limits.max_template_bytes
    big = "{{ messages }}" + " " * cap
    for data, hint in (
        (big.encode(), "chat_template.jinja"),
        (_tokenizer_config(big), "tokenizer_config.json"),
        (_gguf(big), "model.gguf"),
    ):
        report = scan.bytes(data, name_hint=hint)
        assert report.verdict is Verdict.ERROR, hint
        assert "chat-template-too-large" in {f.rule for f in report.findings}
    huge = json.dumps({"chat_template": "{{ m }}", "pad": "x" * engine.limits.max_json_bytes})
    dense = json.dumps({"chat_template": "{{ m }}", "x": [[]] * 2_000_000})  # ~130 MB parsed
    for data in (huge, dense):
        report = scan.bytes(data.encode(), name_hint="tokenizer_config.json")
        assert report.verdict is Verdict.ERROR and report.findings[0].rule == "config-too-large"
    # Vocabularies are read by no config loader: big, escaped, still clean.
    vocab = {f"tok\u0000{i}": i for i in range(400_000)}
    data = json.dumps({"model": {"vocab": vocab}, "pad": "x" * engine.limits.max_json_bytes})
    assert scan.bytes(data.encode(), name_hint="tokenizer.json").verdict is Verdict.CLEAN


def test_analysis_is_bounded(scan):
    """Chains of {% set %} are analysed once per name (no exponential blow-up); expressions
    nested past the analyser's depth are an error, never clean."""
    chain = "".join(f"{{% set a{i} = a{i + 1} ~ a{i + 1} %}}" for i in range(60))
    report = scan.bytes((chain + "{% set a60 = '__x' %}{{ c[a0] }}").encode(), "t.jinja")
    assert report.verdict is Verdict.MALICIOUS
    deep = "{{ " + "+".join(["1"] * 3000) + " }}"
    assert scan.bytes(deep.encode(), "t.jinja").verdict is Verdict.ERROR


def test_special_tokens_from_the_repository_may_not_name_attributes(scan):
    """bos_token & co. come from the scanned repository's own tokenizer config: a template can
    spell its gadget chain there, with no suspicious string in the template at all."""
    tpl = "{{ (namespace|attr(bos_token))[eos_token][pad_token]['open']" + _OPEN + " }}"
    tokens = "bos_token='__init__', eos_token='__globals__', pad_token='__builtins__'"
    loader = UNSANDBOXED.replace("render(messages=[])", f"render(messages=[], {tokens})")
    assert payload_runs(loader, tpl.encode(), name="t.jinja")
    report = scan.bytes(tpl.encode(), name_hint="chat_template.jinja")
    assert report.verdict is Verdict.SUSPICIOUS
    assert {f.rule for f in report.findings} == {"chat-template-dynamic-attribute"}
