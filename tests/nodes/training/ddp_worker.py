"""Run two meta-learning steps on a fixed batch, in one process or as one rank of a torchrun group.

``python -m torch.distributed.run --nproc_per_node 2 ddp_worker.py OUT STEPS adam|sgd`` makes each rank take its
share of the batch (rank r: episodes r, r + world, ...); without torchrun one process takes them all.
Every rank writes its gradients (after the second step) and parameters to OUT.rank<r>.safetensors.
Not a test module: test_meta_ddp.py launches it.
"""
import sys

import torch
from talkinghead.nodes.training.dataset import Episode
from talkinghead.nodes.training.loop import wrap_ddp
from talkinghead.nodes.training.meta import MetaConfig, build_state, meta_step
from talkinghead.nodes.training.objective import VARIANTS, Objective
from talkinghead.runtime import distributed as ddp_env
from talkinghead.runtime.runtime import Runtime
from talkinghead.runtime.weights import save_safetensors

BATCH, K, S = 2, 2, 64
INDICES = ([0, 2], [2, 2])  # step 1: two videos; step 2: the same video twice (row gradients add up)


def episode(step: int) -> Episode:
    g = torch.Generator().manual_seed(100 + step)
    x = torch.rand(BATCH, K + 1, 3, S, S, generator=g) * 2 - 1
    y = torch.rand(BATCH, K + 1, 3, S, S, generator=g) * 2 - 1
    lms = torch.rand(BATCH, K + 1, 68, 2, generator=g) * S
    return Episode(x, y, lms, torch.tensor(INDICES[step]))


def run(out: str, steps: int = 2, sgd: bool = False, threads: int = 1) -> None:
    if threads:
        torch.set_num_threads(threads)
    rt = Runtime(device="cpu", precision="32-true")
    ddp_env.init_from_env(rt.device)
    rank, world = ddp_env.rank(), ddp_env.world_size()
    cfg = MetaConfig(preset="tiny-64", k=K, batch_size=BATCH // world, loss="l1+adv")
    st = build_state(rt, cfg, num_videos=3)
    if sgd:  # plain SGD: the update is the averaged gradient itself (Adam's first step is ~ lr * sign(g))
        st.opt_eg = torch.optim.SGD(st.opt_eg.param_groups[0]["params"], lr=0.05)
        st.opt_d = torch.optim.SGD(st.opt_d.param_groups[0]["params"], lr=0.05)
    init = {f"init.{n}.{k}": p.detach().clone() for n, m in st.modules().items() for k, p in m.named_parameters()}
    nets = wrap_ddp(rt, st)
    objective = Objective(rt, VARIANTS[cfg.loss])
    for step in range(steps):
        meta_step(rt, st, objective, episode(step).select(slice(rank, None, world)), cfg, nets)
    tensors = dict(init)
    for name, module in st.modules().items():
        for key, p in module.named_parameters():
            tensors[f"param.{name}.{key}"] = p.detach()
            if p.grad is not None:
                tensors[f"grad.{name}.{key}"] = p.grad.to_dense() if p.grad.is_sparse else p.grad
    save_safetensors(f"{out}.rank{rank}.safetensors", tensors, {"world": world})
    ddp_env.cleanup()


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "sgd")
