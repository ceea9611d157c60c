"""The classroom: many learners on one server, on the engines classes already run. torchlab starts
and configures a real JupyterHub (DockerSpawner: one lab container per seat) on this host, and
writes the values of the JupyterHub Helm chart (Zero to JupyterHub, KubeSpawner) for Kubernetes.
torchlab's part is its knowledge: the image per GPU, the protections of `up`, shm for DataLoader
workers, GPUs per seat, smoke checks per seat.

Pure (data in, data out):
    gpus       GPUs spread over seats: whole devices round-robin, MIG instances, none
    access     where learners reach the hub: loopback, or the network with TLS (or a warning)
    logins     per-seat passwords: made, hashed, checked
    hubconfig  the hub's configuration file, as data and as text
    seatimage  the seat image: the lab image and jupyterhub-singleuser (its recipe and name)
    helm       the Helm chart's values and the TA's README

Acting (processes, the engine, HTTP):
    state      the class's files under <data_dir>/classroom
    hub        the JupyterHub process: start, find, stop
    hubapi     the hub's REST API
    up         `classroom up`: image, network, hub, seats, smoke checks
    manage     `classroom status | seats | down`
    export     `classroom export`: the files for Kubernetes, checked by podcheck
    podcheck   KubeSpawner renders each profile's pod; kubernetes-validate checks them (a subprocess)
    hubside    runs inside the hub process: the seats' authenticator, per-seat spawner settings
"""
