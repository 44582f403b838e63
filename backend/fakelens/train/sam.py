"""Sharpness-aware minimisation (Foret et al., ICLR 2021), as the SBI paper trains its detector.

A step takes its gradient at weights moved `rho` uphill along the current gradient (normalised
over all parameters), then applies it to the weights it started from, so the optimiser prefers
minima whose neighbourhood is low too. It costs a second forward and backward pass per step.

    loss(batch).backward()
    moves = climb(params, rho)
    opt.zero_grad()
    with still_batchnorm(net):
        loss(batch).backward()       # the gradient at the moved weights
    descend(params, moves)           # back to where the step started
    opt.step()
"""

from contextlib import contextmanager

import torch
from torch import nn


@torch.no_grad()
def climb(params: list, rho: float) -> list:
    """Moves every parameter with a gradient by rho * g / ||g|| (one norm over all of them); returns the moves."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = rho / (norm + 1e-12)
    moves = []
    for p in params:
        move = None if p.grad is None else p.grad * scale
        if move is not None:
            p.add_(move)
        moves.append(move)
    return moves


@torch.no_grad()
def descend(params: list, moves: list):
    """Undoes climb's moves."""
    for p, move in zip(params, moves):
        if move is not None:
            p.sub_(move)


@contextmanager
def still_batchnorm(net: nn.Module):
    """BatchNorm layers normalise by the batch but leave their running statistics as they are, so
    the second pass of a step does not count the same batch twice (momentum 0 keeps them)."""
    layers = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    kept = [m.momentum for m in layers]
    for m in layers:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(layers, kept):
            m.momentum = momentum
