"""Module 6 exercises: configs, tokenizers and predictions with transformers, offline.

Fill in every TODO, then run `python exercises.py` (or `%run exercises.py` in a notebook) to see
which exercises are done.
"""

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import BertConfig, PreTrainedTokenizerFast


def tiny_bert_config(vocab_size: int, num_labels: int) -> BertConfig:
    """A BertConfig with 2 layers, hidden size 32, 2 attention heads, intermediate size 64 and 32 positions."""
    raise NotImplementedError("TODO: BertConfig(...)")


def count_parameters(model: torch.nn.Module) -> int:
    """How many numbers the model learns (only parameters with requires_grad)."""
    raise NotImplementedError("TODO")


def predict_labels(model, tokenizer, texts: list[str]) -> list[int]:
    """The most likely label for each text: tokenize (padding=True, tensors), run the model without gradients, argmax."""
    raise NotImplementedError("TODO")


# --- checks: run this file to try your answers ---------------------------------------------------


def word_tokenizer(words: list[str]) -> PreTrainedTokenizerFast:
    vocab = {word: i for i, word in enumerate(["[PAD]", "[UNK]"] + words)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]")


def check_tiny_bert_config() -> None:
    config = tiny_bert_config(vocab_size=50, num_labels=3)
    found = (config.num_hidden_layers, config.hidden_size, config.num_attention_heads, config.intermediate_size)
    assert found == (2, 32, 2, 64), f"layers, hidden, heads, intermediate = {found}"
    assert config.vocab_size == 50 and config.num_labels == 3, "vocab_size or num_labels not passed through"


def check_count_parameters() -> None:
    layer = torch.nn.Linear(3, 4)
    assert count_parameters(layer) == 16, f"Linear(3, 4) has 16 parameters, got {count_parameters(layer)}"
    layer.bias.requires_grad_(False)
    assert count_parameters(layer) == 12, "a frozen bias should not count"


def check_predict_labels() -> None:
    from transformers import BertForSequenceClassification

    tokenizer = word_tokenizer(["yes", "no"])
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_bert_config(vocab_size=4, num_labels=2)).eval()
    texts = ["yes yes", "no", "yes no no"]
    with torch.no_grad():
        expected = [int(model(**tokenizer([t], return_tensors="pt")).logits.argmax()) for t in texts]
    got = predict_labels(model, tokenizer, texts)
    assert got == expected, f"got {got}, expected {expected}"


CHECKS = (check_tiny_bert_config, check_count_parameters, check_predict_labels)


def run_checks() -> None:
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            check()
        except NotImplementedError as todo:
            print(f"todo   {name}: {todo}")
        except AssertionError as wrong:
            print(f"wrong  {name}: {wrong}")
        else:
            print(f"done   {name}")


if __name__ == "__main__":
    run_checks()
