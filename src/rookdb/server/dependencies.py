"""What routes receive from the app: the `Instance` the server wraps."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rookdb.instance import Instance


async def get_instance(request: Request) -> Instance:
    """The Instance this app serves (async: no thread hop for a dictionary lookup)."""
    instance: Instance = request.app.state.instance
    return instance


InstanceDep = Annotated[Instance, Depends(get_instance)]
