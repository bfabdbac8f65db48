"""Turn classification: which lane a turn belongs to, and why. Strongest signal first:
explicit choice, user rules, background work, client mode markers, session state, default."""

from __future__ import annotations

from splitlane.config import Config
from splitlane.core.lanes import Lane
from splitlane.core.parts import Role, ToolResultPart
from splitlane.core.request import ChatRequest
from splitlane.routing import markers, rules
from splitlane.routing.lanes import Decision, Source
from splitlane.sessions.state import SessionState

LANE_HEADER = "x-splitlane-lane"


def split_model(config: Config, requested: str) -> tuple[str, Decision | None]:
    """The alias a requested model name means, and the lane it fixes, if any
    (``coder:plan``, or a config alias such as ``[models.coder-plan] alias="coder" lane="plan"``)."""
    alias, _, suffix = requested.rpartition(":")
    if alias in config.models and suffix in Lane.__members__.values():
        return alias, Decision(Lane(suffix), Source.EXPLICIT, f"model suffix ':{suffix}'")
    model = config.models.get(requested)
    if model is not None and model.alias is not None and model.lane is not None:
        return model.alias, Decision(
            Lane(model.lane), Source.EXPLICIT, f"model '{requested}' is the {model.lane} lane of '{model.alias}'"
        )
    return requested, None


def answers_tool_result(request: ChatRequest) -> bool:
    last = request.messages[-1] if request.messages else None
    return last is not None and (last.role is Role.TOOL or any(isinstance(p, ToolResultPart) for p in last.parts))


def classify(config: Config, request: ChatRequest, explicit: Decision | None, state: SessionState) -> Decision:
    decision = _classify(config, request, explicit, state)
    if decision.source in (Source.EXPLICIT, Source.MARKER) and decision.lane is not Lane.BACKGROUND:
        state.lane = decision.lane
        state.last_marker = decision.reason
    state.turns += 1
    return decision


def _classify(config: Config, request: ChatRequest, explicit: Decision | None, state: SessionState) -> Decision:
    if explicit is not None:
        return explicit
    header = request.headers.get(LANE_HEADER, "").strip().lower()
    if header in Lane.__members__.values():
        return Decision(Lane(header), Source.EXPLICIT, f"header {LANE_HEADER}: {header}")
    for index, rule in enumerate(config.rules):
        if rules.matches(rule, request):
            return Decision(Lane(rule.lane), Source.RULE, rules.describe(rule, index))
    background = markers.background_reason(request)
    if background is not None:
        return Decision(Lane.BACKGROUND, Source.BACKGROUND, background)
    marker = markers.latest_mode_marker(request)
    if marker is not None:
        return Decision(marker.lane, Source.MARKER, marker.name)
    if state.lane is not None:
        why = "tool result continues the session's lane" if answers_tool_result(request) else "session's lane"
        return Decision(state.lane, Source.SESSION, f"{why} ({state.last_marker})")
    return Decision(Lane(config.default_lane), Source.DEFAULT, f"no signal; default lane {config.default_lane}")
