"""Smoke checks for module-6 (Hugging Face Transformers), offline: tiny models built from configs.

Nothing is downloaded: the model comes from a 2-layer BertConfig, the tokenizer from a
ten-word vocabulary, so a classroom behind a firewall (and CI) runs the same checks.
"""

from __future__ import annotations

import copy
import math
import tempfile

import torch

from smoke_api import SmokeFailure, assert_close, tolerances

RTOL, ATOL = tolerances(torch.float32)
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "plot", "great", "##s"]


def tiny_config():
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=2,
    )


def tiny_classifier():
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(tiny_config())


def tiny_tokenizer():
    """A WordPiece tokenizer over VOCAB, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    wordpiece = Tokenizer(models.WordPiece({word: i for i, word in enumerate(VOCAB)}, unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", VOCAB.index("[CLS]")), ("[SEP]", VOCAB.index("[SEP]"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=wordpiece,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def check_tokenizer_offline(device: str) -> str:
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as folder:
        tiny_tokenizer().save_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)  # a local folder: no hub, no network
    batch = tokenizer(["Good movies", "bad plot"], padding=True, return_tensors="pt")
    expected = torch.tensor([[2, 5, 7, 10, 3], [2, 6, 8, 3, 0]])  # [CLS] good movie ##s [SEP] / ... [PAD]
    if not torch.equal(batch["input_ids"], expected):
        raise SmokeFailure(f"token ids {batch['input_ids'].tolist()}, expected {expected.tolist()}")
    if not torch.equal(batch["attention_mask"], (expected != 0).long()):
        raise SmokeFailure(f"attention mask {batch['attention_mask'].tolist()} does not mark the padding")
    return f"AutoTokenizer from a local folder ({type(tokenizer).__name__}) gives the expected ids and mask"


def check_tiny_model_forward_backward(device: str) -> str:
    cpu_model = tiny_classifier()
    model = copy.deepcopy(cpu_model).to(device)
    ids = torch.randint(5, len(VOCAB), (4, 8))
    labels = torch.tensor([0, 1, 1, 0])
    out = model(input_ids=ids.to(device), labels=labels.to(device))
    reference = cpu_model(input_ids=ids, labels=labels)
    if tuple(out.logits.shape) != (4, 2) or not math.isfinite(out.loss.item()):
        raise SmokeFailure(
            f"logits shape {tuple(out.logits.shape)}, loss {out.loss.item()}; expected (4, 2) and a finite loss"
        )
    worst = assert_close(out.logits, reference.logits, "BERT logits on device vs CPU", RTOL, ATOL)
    out.loss.backward()
    reference.loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    missing = [name for name, grad in grads.items() if grad is None and "pooler" not in name]
    if missing:
        raise SmokeFailure(f"no gradient reached {missing[:3]}")
    for name, param in cpu_model.named_parameters():
        if param.grad is not None and name.startswith("classifier"):
            worst = max(worst, assert_close(grads[name], param.grad, f"gradient of {name}", RTOL, ATOL))
    params = sum(p.numel() for p in model.parameters())
    return f"{params} parameters, loss {out.loss.item():.4f}, logits and classifier gradients match CPU (max abs diff {worst:.2g})"


class TinyDataset(torch.utils.data.Dataset):
    def __init__(self, ids: torch.Tensor, labels: torch.Tensor) -> None:
        self.ids, self.labels = ids, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "input_ids": self.ids[index],
            "attention_mask": torch.ones_like(self.ids[index]),
            "labels": self.labels[index],
        }


def check_trainer_step(device: str) -> str:
    from transformers import Trainer, TrainingArguments

    model = tiny_classifier()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    dataset = TinyDataset(torch.randint(5, len(VOCAB), (8, 8)), torch.tensor([0, 1] * 4))
    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(
            output_dir=output_dir,
            max_steps=1,
            per_device_train_batch_size=8,
            learning_rate=1e-2,
            report_to="none",
            use_cpu=device == "cpu",
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            dataloader_num_workers=0,
        )
        result = Trainer(model=model, args=args, train_dataset=dataset).train()
    if result.global_step != 1 or not math.isfinite(result.training_loss):
        raise SmokeFailure(f"Trainer ran {result.global_step} step(s) with loss {result.training_loss}")
    changed = sum(not torch.equal(p.detach().cpu(), before[name]) for name, p in model.named_parameters())
    if changed == 0:
        raise SmokeFailure("one Trainer step changed no parameter")
    ran_on = next(model.parameters()).device.type
    if ran_on != device:
        raise SmokeFailure(f"the Trainer put the model on {ran_on}, expected {device}")
    return f"1 step on {ran_on}, loss {result.training_loss:.4f}, {changed} parameter tensors updated"
