"""``python -m tinywgan.bench``: one WGAN training iteration timed beside a hand-derived NumPy version and
PyTorch.

:mod:`.runner` checks the gradients and times the iterations; :mod:`.handwritten` is the same iteration
derived by hand in NumPy (what the engine automates); :mod:`.torch_reference` the same in PyTorch, run in a
child process; :mod:`.usercode` the same as a PyTorch user writes it with tinywgan; :mod:`.workloads` what
they share (networks, initial weights, random draws);
:mod:`.threads` the BLAS thread count. This module imports none of them, so that ``python -m tinywgan.bench
--threads N`` can set the thread count before NumPy loads.
"""
