"""One module per benchmarked implementation of the seed MLP.

Each module defines ``build(layers, x) -> run`` where ``layers`` is ``[(W (in, out), b (out,)), ...]``
as float32 NumPy arrays and ``x`` the ``(batch, 784)`` float32 NumPy input; ``run()`` computes the
forward pass, blocks until the result is ready and returns it (anything ``np.asarray`` accepts).
A module may also define ``memory(layers, x) -> dict`` (XLA's compiled memory figures, in bytes).
Importing a module raises ImportError when its library is missing: the runner reports it skipped.
"""
