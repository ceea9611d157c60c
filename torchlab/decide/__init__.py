"""Decide: pure functions of the facts. No I/O here.

    plan       where and how labs run on a host (runtime, variant, device), each with its reason
    findings   what is right and wrong with a host, each with its fix
    verdict    two verdicts: on the learner's own torch, and on the labs' torch
    torch_words  torch's own warnings and errors, and what each means
    compat     what each torch, CUDA, ROCm and driver release supports: questions to torchlab.knowledge
    choice     the plan narrowed by `up --runtime/--variant` or `images --variant`
    runspec    the lab container as data (docker-py's keyword arguments)
    jupyter    JupyterLab's start: the page it opens and its kernel's name
    devcontainer  the lab's run spec as a devcontainer.json (VS Code, the Dev Containers CLI)
    venv       a native lab's virtual environment as data, and the commands that make it
"""
