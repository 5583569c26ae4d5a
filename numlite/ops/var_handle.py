"""VAR_HANDLE: the handle (resource id) of the resource variable named by the options
``container`` and ``shared_name``; the same names give the same variable in every subgraph.
The id is computed at prepare and folded (see ``_resource``); the variable itself comes into
being, without a value, on first use."""

from __future__ import annotations

from ._resource import ResourceVariable, publish_handle
from .base import Kernel, PrepareContext
from .registry import register


@register("VAR_HANDLE", versions=(1,))
class VarHandle(Kernel):
    options_table = "VarHandleOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        if ctx.inputs or len(ctx.outputs) != 1:
            ctx.fail("takes no inputs and gives one resource handle")
        container = self.options.get("container") or ""
        name = self.options.get("shared_name") or ""
        rid = ctx.runtime.resource_id("variable", container, name)
        ctx.runtime.resources.setdefault(rid, ResourceVariable(f"{container}/{name}" if container else name))
        publish_handle(ctx, rid)
