"""Which hidden layers of a network form skip-connection blocks (`docs/maths.md`, section 6).

A block is a pair of hidden layers ``(l, l + 1)`` with ``l`` even (``2, 4, 6, ...``), whose input is
``x(l-1)``, the output of hidden layer ``l - 1``: the inner layer ``l`` is an affine map with its
bias and a ReLU (no BN), and the sum layer ``l + 1`` adds the block's input to its scores,

    s(l+1) = W(l+1) max(W(l) x(l-1) + b(l), 0) + b(l+1) + x(l-1),

before its BN and ReLU as in a plain hidden layer. The addition needs both layers to have the
width of the block's input. The rule: every pair ``(2j, 2j + 1)`` of hidden layers whose two
widths equal its input's width is a block; a pair that does not fit, and a last hidden layer
without a partner, stay plain layers; a network with skip connections must have at least one
block. With 6 hidden layers of one width the blocks are ``(2, 3)`` and ``(4, 5)``, the
assignment's skips from ``x(1)`` to ``s(3)`` and from ``x(3)`` to ``s(5)``; layer 6 is plain.
"""

from __future__ import annotations

from typing import Sequence

from .errors import ConfigError


def skip_blocks(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """The blocks ``(inner, sum)`` of a network with layer sizes ``[d_in, h_1, ..., h_{k-1}, K]``.

    Raises :class:`ConfigError` when no pair of hidden layers fits.
    """
    hidden = list(sizes[1:-1])  # hidden[l - 1] is the width of hidden layer l
    blocks = []
    for inner in range(2, len(hidden), 2):  # the sum layer inner + 1 must be hidden too
        width = hidden[inner - 2]  # the block's input x(inner - 1)
        if hidden[inner - 1] == width and hidden[inner] == width:
            blocks.append((inner, inner + 1))
    if not blocks:
        raise ConfigError(
            f"skip connections need hidden layers 2 and 3 (or 4 and 5, ...) of the width of the layer before them, "
            f"e.g. 50,50,50; hidden sizes {hidden} have no such pair"
        )
    return blocks


def hidden_units(n_hidden: int, blocks: Sequence[tuple[int, int]]) -> list[tuple[int | None, int]]:
    """The hidden layers in forward order as ``(inner, l)``: ``inner`` is None for a plain layer ``l``,
    else the inner layer of the block whose sum layer is ``l``."""
    inner_of = {s: i for i, s in blocks}
    inners = set(inner_of.values())
    return [(inner_of.get(l), l) for l in range(1, n_hidden + 1) if l not in inners]
