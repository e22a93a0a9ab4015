"""Optimal transport (transport plans, exact W1 in 1-D and by linear programming, the dual potentials,
Sinkhorn) in :mod:`.ot`, and the divergences the WGAN paper compares W with (KL, JS, TV) in
:mod:`.divergences`."""
