"""Prompt presets: how a problem becomes the text an engine continues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.records import Problem
from evalkit.tasks.answers import CHOICE_LETTERS

BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


@dataclass(frozen=True)
class PromptPreset:
    """A prompt recipe. `chat` presets go through the model's chat template."""

    name: str
    chat: bool
    user_template: str
    system: str | None = None
    description: str = ""
    # how a multiple-choice problem is written: "lines" (the task's own "A. ..." lines) or
    # "answer-choices" (stem, then "Answer Choices: (A) ... (B) ...", as the Qwen2.5-Math
    # evaluation toolkit writes it: QwenLM/Qwen2.5-Math@a45202bd16f1ec06f433442dc1152d0074773465
    # evaluation/parser.py#L654-L719)
    choices: str = "lines"

    def to_json(self) -> dict[str, Any]:
        return {
            "preset": self.name,
            "chat_template": self.chat,
            "system": self.system,
            "user_template": self.user_template,
        }


PRESETS: dict[str, PromptPreset] = {
    p.name: p
    for p in (
        PromptPreset(
            "boxed",
            True,
            "{question}\n" + BOXED_INSTRUCTION,
            description="chat template; problem + step-by-step boxed instruction",
        ),
        PromptPreset(
            "bare",
            True,
            "{question}",
            description="chat template; the problem alone (as ReasonLite evaluates)",
        ),
        PromptPreset(
            "qwen25-math-cot",
            True,
            "{question}",
            system=BOXED_INSTRUCTION,
            description="Qwen2.5-Math CoT system prompt (as LightReasoner evaluates)",
            choices="answer-choices",
        ),
        PromptPreset(
            "plain",
            False,
            "Question: {question}\n" + BOXED_INSTRUCTION + "\nAnswer:",
            description="no chat template, for base models",
        ),
    )
}


@dataclass(frozen=True)
class RenderedPrompt:
    text: str
    add_special_tokens: bool  # False when a chat template already placed them


def get_preset(name: str) -> PromptPreset:
    if name not in PRESETS:
        raise EvalkitError(f"unknown prompt preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def chatml(messages: list[dict[str, str]]) -> str:
    """ChatML written out as text, with the assistant turn opened: the template the
    Qwen2.5-Math evaluation toolkit hard-codes whatever the model's own template is."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


class Prompter:
    """Renders problems with a preset and, for chat presets, the model's chat template (or
    ChatML written out, ``chat_template="chatml"``)."""

    def __init__(self, preset: PromptPreset, tokenizer: Any, chat_template: str = "model"
                 ) -> None:
        self.chat_template = chat_template
        if preset.chat and chat_template == "model" and not getattr(tokenizer, "chat_template",
                                                                     None):
            raise EvalkitError(
                f"the model has no chat template, which prompt {preset.name!r} needs: "
                "use --prompt plain for base models"
            )
        self.preset = preset
        self.tokenizer = tokenizer

    def render_problem(self, problem: Problem) -> RenderedPrompt:
        """A problem's prompt, its choices written the preset's way (a choice problem's text is
        its stem, then one "A. choice" line per choice)."""
        if self.preset.choices == "answer-choices" and problem.choices:
            stem = problem.question.split("\n")[: -len(problem.choices)]
            listed = " ".join(f"({CHOICE_LETTERS[i]}) {choice}"
                              for i, choice in enumerate(problem.choices))
            return self.render("\n".join([*stem, f"Answer Choices: {listed}"]))
        return self.render(problem.question)

    def render(self, question: str) -> RenderedPrompt:
        user = self.preset.user_template.replace("{question}", question)
        if not self.preset.chat:
            return RenderedPrompt(user, add_special_tokens=True)
        messages = []
        if self.preset.system is not None:
            messages.append({"role": "system", "content": self.preset.system})
        messages.append({"role": "user", "content": user})
        if self.chat_template == "chatml":
            return RenderedPrompt(chatml(messages), add_special_tokens=False)
        text = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        return RenderedPrompt(text, add_special_tokens=False)
