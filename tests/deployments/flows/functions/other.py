"""A second worker that reaches the `script` workflow of `flows` through a script_name binding."""


async def fetch(request, env):
    instance = await env.REMOTE.create(params={"ops": [["do", "remote"]]})
    return {"id": instance.id, "binding": repr(env.REMOTE)}
