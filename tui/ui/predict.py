"""Predict mode: before a step that changes numbers, ask for them; check the answer; reveal with the derivation.

The Predictor is plain Python (no widgets): the app asks it, on every repaint, whether the
learner just arrived at a step with something to predict, and how to draw the screen
while a question is open (the cells it asks for show `?`; the other panes stay on the
step the learner came from, so nothing on screen gives the answer away). What to ask
and how to check it is tui.steps.predict; the derivations are the app's own wording
(tui.render.events, chain_rule, updates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tui.render.chain_rule import edge_grads, slot_nodes
from tui.render.events import accumulate_text, pass_events, reset_lines, update_lines
from tui.render.numbers import values_text
from tui.steps.model import Step
from tui.steps.predict import (
    MAX_ELEMENTS,
    TOLERANCE_TEXT,
    Target,
    Verdict,
    check,
    due_targets,
    enclosing_line_steps,
    field_of,
)
from tui.steps.queries import END_KINDS
from tui.ui.widgets.predict_panel import PanelState


@dataclass(frozen=True)
class Question:
    """One prediction to ask: the target, the question in words, and how the answer comes about."""

    target: Target
    prompt: str
    derivation: tuple[str, ...]


@dataclass(frozen=True)
class Answered:
    """A question and what became of it: a verdict, or None when the learner skipped it."""

    question: Question
    verdict: Verdict | None

    @property
    def mark(self) -> str:
        """The tensor table's mark for the cell: right, wrong or skipped."""
        if self.verdict is None:
            return "skipped"
        return "right" if self.verdict.right else "wrong"

    def lines(self) -> list[str]:
        """What the panel says once answered: the value, the verdict, the guess and the derivation."""
        target = self.question.target
        value = answer_text(target.answer)
        if self.verdict is None:
            return [f"skipped: {target.label} = {value}", *self.question.derivation]
        if self.verdict.right:
            return [f"✓ right: {target.label} = {value}"]
        said = f"you said {self.verdict.guess}" + (f" ({self.verdict.problem})" if self.verdict.problem else "")
        return [f"✗ {target.label} = {value} — {said}", *self.question.derivation]


@dataclass
class Score:
    """Predictions this session: right, asked (answered or skipped) and skipped."""

    right: int = 0
    asked: int = 0
    skipped: int = 0

    def text(self) -> str:
        """`predict 3/5 right, 1 skipped` (`predict on` before the first question)."""
        if not self.asked:
            return "predict on"
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return f"predict {self.right}/{self.asked} right{skipped}"


def answer_text(answer: object) -> str:
    """A recorded answer as the panel writes it: -24, None, [2, 2, 2]."""
    return "None" if answer is None else values_text(answer)


def _prompt(target: Target, step: Step, from_node: str | None = None) -> str:
    if target.why == "accumulate":
        return f"{target.label} after this AccumulateGrad = ?"
    if target.why == "optimizer" and step.update is not None:
        kind = step.update.kind or step.update.optimizer
        return f"{target.label} after this {kind} step = ?"
    if target.why == "reset":
        return f"{target.label} after this zero_grad() = ?"
    if target.why == "backward":
        return f"the grad {from_node or 'this node'} sends to {target.tensor} = ?"
    return f"{target.label} after this line = ?"


def _edge_into(steps: Sequence[Step], index: int, leaf: str) -> str | None:
    """The chain-rule line of the node that sent `leaf` its grad in this backward pass (`-6 × var_2 (4) = -24`)."""
    graph = steps[index].graph
    for event in pass_events(steps, index).values():
        if event.leaf:
            continue
        for edge in edge_grads(event, graph):
            if edge.target == leaf:
                return edge.text().split(" ← ", 1)[-1]
    return None


def derivation(steps: Sequence[Step], target: Target) -> tuple[str, ...]:
    """How the recorded answer comes about, in the app's own words."""
    step = steps[target.step]
    if target.why == "accumulate" and step.node is not None:
        lines = []
        edge = _edge_into(steps, target.step, target.tensor)
        if edge is not None:
            lines.append(edge)
        lines.append(accumulate_text(step.node))
        return tuple(lines)
    if target.why == "optimizer":
        return tuple(line.strip() for line in update_lines(step)[1:])
    if target.why == "reset" and step.reset is not None:
        return tuple(line.strip() for line in reset_lines(step.reset))
    if target.why == "backward" and step.node is not None:
        return tuple(edge.text() for edge in edge_grads(step.node, step.graph) if edge.target == target.tensor)
    return _marked_derivation(steps, target)


def _marked_derivation(steps: Sequence[Step], target: Target) -> tuple[str, ...]:
    """For a marked line: the derivation of the last event on the way that set this cell, if any."""
    index = target.step
    position = index
    while position > 0 and steps[position - 1].kind != "line":
        position -= 1
    for event_index in range(index, position - 1, -1):
        for event_target in _event_targets(steps, event_index):
            if event_target.cell == target.cell:
                return derivation(steps, event_target)
    before = steps[position - 1].tensors.get(target.tensor) if position > 0 else None
    was = answer_text(field_of(before, target.field)) if before is not None else "not there yet"
    if before is not None and field_of(before, target.field) == target.answer:
        return (f"nothing on this line changed {target.label} (it was {was})",)
    return ()


def _event_targets(steps: Sequence[Step], index: int) -> list[Target]:
    from tui.steps.predict import event_targets

    return [*event_targets(steps, index), *_sent_targets(steps, index)]


def _sent_targets(steps: Sequence[Step], index: int) -> list[Target]:
    """The grads a backward node sends on to other backward nodes (a leaf's is asked at its AccumulateGrad)."""
    step = steps[index]
    event, graph = step.node, step.graph
    if step.kind != "backward" or event is None or event.leaf or graph is None:
        return []
    node = graph.node(event.node_id)
    if node is None:
        return []
    feeds = slot_nodes(event, node, graph)
    targets = []
    for edge in edge_grads(event, graph):
        next_node = feeds.get(edge.slot)
        sent = edge.sent
        if next_node is None or next_node.leaf or next_node.name == "AccumulateGrad" or sent is None or sent.value is None:
            continue
        if sent.numel > MAX_ELEMENTS:
            continue
        targets.append(Target(edge.target, "sent", sent.value, index, "backward"))
    return targets


@dataclass
class Predictor:
    """The predict mode's state: on or off, the open questions, every answer, the score."""

    points: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    enabled: bool = False
    score: Score = field(default_factory=Score)
    seen: int = -1  # the history position last drawn
    came_from: int = -1  # where the move that opened the questions began
    asking_at: int = -1
    pending: list[Question] = field(default_factory=list)
    answers: dict[int, list[Answered]] = field(default_factory=dict)
    finished: bool = False  # the learner reached the run's end in predict mode

    @property
    def asking(self) -> bool:
        return bool(self.pending)

    @property
    def question(self) -> Question | None:
        return self.pending[0] if self.pending else None

    def toggle(self) -> bool:
        """Turn predict mode on or off (off skips what is open); True when now on."""
        self.enabled = not self.enabled
        if not self.enabled:
            self._skip_all()
        return self.enabled

    def reset(self) -> None:
        """A fresh history (restart): forget the steps, keep the score."""
        self._skip_all()
        self.seen = -1
        self.answers.clear()

    def arrive(self, steps: Sequence[Step], current: int, *, running: bool = False) -> bool:
        """The learner is at `current`: open the questions due there. True when the end was just reached."""
        if current == self.seen:
            return False
        came_from, self.seen = self.seen, current
        if self.pending and self.asking_at != current:
            self._skip_all()
        if not self.enabled or running or came_from < 0 or current <= came_from or current in self.answers:
            return False
        # Cells already asked on the way (the AccumulateGrads of a backward() stepped into) are not asked again.
        line_index = enclosing_line_steps(steps, came_from)[-1]
        asked = {answered.question.target.cell for position in range(line_index + 1, current) for answered in self.answers.get(position, [])}
        due = due_targets(steps, came_from, current, self.points, asked)
        due += [target for target in _sent_targets(steps, current) if target.cell not in {t.cell for t in due}]
        if due:
            self.came_from = came_from
            self.asking_at = current
            self.answers[current] = []
            for target in due:
                node = steps[current].node
                self.pending.append(Question(target, _prompt(target, steps[current], node.name if node else None), derivation(steps, target)))
        if steps[current].kind in END_KINDS and not self.finished:
            self.finished = True
            return True
        return False

    def answer(self, text: str) -> Answered | None:
        """Check a typed guess against the open question (an empty one skips it)."""
        question = self.question
        if question is None:
            return None
        if not text.strip():
            return self.skip()
        verdict = check(text, question.target.answer)
        return self._close(Answered(question, verdict))

    def skip(self) -> Answered | None:
        """Skip the open question: its value shows."""
        question = self.question
        if question is None:
            return None
        return self._close(Answered(question, None))

    def _close(self, answered: Answered) -> Answered:
        self.pending.pop(0)
        self.score.asked += 1
        if answered.verdict is None:
            self.score.skipped += 1
        elif answered.verdict.right:
            self.score.right += 1
        self.answers.setdefault(answered.question.target.step, []).append(answered)
        return answered

    def _skip_all(self) -> None:
        while self.pending:
            self.skip()

    # -- drawing ---------------------------------------------------------------------------

    def cell_marks(self, current: int) -> dict[tuple[str, str], str]:
        """(tensor, column) -> "?" for a cell asked for now, else its verdict's mark."""
        marks = {answered.question.target.cell: answered.mark for answered in self.answers.get(current, [])}
        if self.asking_at == current:
            for question in self.pending:
                marks[question.target.cell] = "?"
        return marks

    def panel_lines(self, current: int) -> list[str]:
        """What the panel shows when no question is open: the verdicts at this step."""
        return [line for answered in self.answers.get(current, []) for line in answered.lines()]

    def progress_text(self) -> str:
        """`question 1 of 2` while asking."""
        total = len(self.answers.get(self.asking_at, [])) + len(self.pending)
        return f"question {total - len(self.pending) + 1} of {total}" if total > 1 else ""

    def masked(self, view: Any, steps: Sequence[Step], narrative_at: Callable[[int | None], str | None]) -> Any:
        """The main view while a question is open: the panes show where the learner came from."""
        if not self.pending or not 0 <= self.came_from < len(steps):
            return view
        source = steps[self.came_from]
        return replace(
            view,
            previous=source,
            panes_step=source,
            series=None,
            narrative=narrative_at(source.line),
            pass_events=pass_events(steps, self.came_from),
        )


def predict_panel_state(
    predictor: Predictor, view: Any, steps: Sequence[Step], current: int, narrative_at: Callable[[int | None], str | None]
) -> Any:
    """The main view with predict mode's part: masked while asking, the verdicts after."""
    if not predictor.enabled and not predictor.answers.get(current):
        return view
    marks = predictor.cell_marks(current)
    question = predictor.question if predictor.asking_at == current else None
    if question is not None:
        hint = f"Esc skips · {TOLERANCE_TEXT}"
        if predictor.progress_text():
            hint = f"{predictor.progress_text()} · {hint}"
        state = PanelState(question=question.prompt, hint=hint, lines=tuple(predictor.panel_lines(current)))
        view = predictor.masked(view, steps, narrative_at)
    else:
        lines = predictor.panel_lines(current)
        if predictor.enabled and 0 <= current < len(steps) and steps[current].kind in END_KINDS:
            lines.append(f"This session: {predictor.score.text()}.")
        state = PanelState(lines=tuple(lines))
    return replace(view, cell_marks=marks or None, predict=state)
