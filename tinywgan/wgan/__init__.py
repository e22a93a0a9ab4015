"""Wasserstein GANs: the losses, the three Lipschitz tools, the trainer and its checkpoints.

Read :mod:`.losses` (the Kantorovich-Rubinstein objective), :mod:`.lipschitz` (weight clipping, the gradient
penalty, spectral normalization), then :mod:`.trainer` (the annotated loop users call as
``tinywgan.wgan.train``); :mod:`.checkpoint` saves and restores a run without pickle.
"""
from . import checkpoint
from .lipschitz import (SpectralNorm, clip_weights, critic_gradient_norms, gradient_penalty, interpolate,
                        spectral_norm)
from .losses import critic_loss, gan_discriminator_loss, gan_generator_loss, generator_loss
from .trainer import TrainingDiverged, TrainLog, WGANConfig, WGANTrainer, train
