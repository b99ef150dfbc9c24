"""transformers ``from_pretrained`` through ModelVault, configured only by HF_ENDPOINT/HF_TOKEN.

The test builds a tiny random-weight BERT and a word-level tokenizer, pushes them with the stock
client, and loads them back in a fresh interpreter the way a notebook would.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.compat.hub_client import run_client
from tests.servers import RunningServer

BUILD_AND_PUSH = """
import tempfile, torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast
torch.manual_seed(0)
repo_id = sys.argv[1] if len(sys.argv) > 1 else os.environ["REPO_ID"]
vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "vault": 6}
tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
tok.pre_tokenizer = pre_tokenizers.Whitespace()
fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                               cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                    num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)
model = BertModel(config).eval()
folder = tempfile.mkdtemp()
model.save_pretrained(folder)
if os.environ.get("SAFE", "1") != "1":  # a classic torch.save checkpoint instead
    os.remove(folder + "/model.safetensors")
    torch.save(model.state_dict(), folder + "/pytorch_model.bin")
fast.save_pretrained(folder)
open(folder + "/README.md", "w").write("---\\nlicense: apache-2.0\\n---\\n# tiny bert\\n")
api.create_repo(repo_id)
api.upload_folder(folder_path=folder, repo_id=repo_id)
with torch.no_grad():
    out = model(**fast("hello vault", return_tensors="pt")).last_hidden_state
emit({"sum": float(out.sum()), "files": sorted(os.listdir(folder)),
      "ids": fast("hello vault")["input_ids"]})
"""

LOAD = """
import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer
repo_id = os.environ["REPO_ID"]
config = AutoConfig.from_pretrained(repo_id)
tok = AutoTokenizer.from_pretrained(repo_id)
model = AutoModel.from_pretrained(repo_id).eval()
with torch.no_grad():
    out = model(**tok("hello vault", return_tensors="pt")).last_hidden_state
emit({"sum": float(out.sum()), "hidden": config.hidden_size, "ids": tok("hello vault")["input_ids"]})
"""


def _roundtrip(server: RunningServer, tmp_path: Path, safe: str) -> None:
    repo_id = f"tiny/bert-{uuid.uuid4().hex[:8]}"
    env = {"REPO_ID": repo_id, "SAFE": safe, "HF_HUB_DISABLE_XET": "1"}
    pushed = run_client(
        BUILD_AND_PUSH,
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        hf_home=tmp_path / "push",
        extra_env=env,
    )
    weights = "model.safetensors" if safe == "1" else "pytorch_model.bin"
    assert weights in pushed["files"]
    loaded = run_client(
        LOAD,
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        hf_home=tmp_path / "load",
        extra_env=env,
    )
    assert loaded["hidden"] == 16
    assert loaded["ids"] == pushed["ids"] == [5, 6]
    assert abs(loaded["sum"] - pushed["sum"]) < 1e-4


def test_from_pretrained_safetensors(server: RunningServer, tmp_path: Path) -> None:
    _roundtrip(server, tmp_path, safe="1")


def test_from_pretrained_pytorch_bin(standalone_server: RunningServer, tmp_path: Path) -> None:
    _roundtrip(standalone_server, tmp_path, safe="0")
