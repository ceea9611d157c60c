"""Decide: pure functions of the facts. No I/O here.

    plan       where and how labs run on a host (runtime, variant, device), each with its reason
    findings   what is right and wrong with a host, each with its fix
    compat     what each torch, CUDA, ROCm and driver release supports: the lookups
    choice     the plan narrowed by `up --runtime/--variant` or `images --variant`
    runspec    the lab container as data (docker-py's keyword arguments)
    venv       a native lab's virtual environment as data, and the commands that make it
"""
