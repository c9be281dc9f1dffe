"""Request state: plain slotted data, cheap to create and easy to snapshot."""

from __future__ import annotations

READY, RUNNING, DONE = 0, 1, 2


class Request:
    """One inference of ``model`` for ``tenant`` under SLO ``slo``.

    ``next_layer`` is the index of the next layer to run (``n_layers`` once all ran). ``sub`` is
    the sub-accelerator running it (``-1`` when not running). Schedulers read these fields; only
    the simulator writes them.
    """

    __slots__ = (
        "id", "slo", "tenant", "model", "mi", "arrival", "deadline", "next_layer", "n_layers",
        "state", "sub", "counted", "end", "hit",
    )

    def __init__(self, id, slo, tenant, model, mi, arrival, deadline, n_layers, counted):
        self.id = id
        self.slo = slo
        self.tenant = tenant
        self.model = model
        self.mi = mi
        self.arrival = arrival
        self.deadline = deadline
        self.next_layer = 0
        self.n_layers = n_layers
        self.state = READY
        self.sub = -1
        self.counted = counted
        self.end = -1.0
        self.hit = False

    def __repr__(self) -> str:
        return (
            f"Request(id={self.id}, slo={self.slo}, model={self.model}, layer={self.next_layer}/{self.n_layers}, "
            f"arrival={self.arrival:.6g}, deadline={self.deadline:.6g})"
        )
