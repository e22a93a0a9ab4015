"""The data a WGAN learns: toy 2D samplers with known modes and two 1D Gaussians (:mod:`.toy`), and MNIST
digits: the IDX reader, the checked download and offline digits rendered from fonts (:mod:`.mnist`)."""
from .mnist import (MNIST_FILES, MNIST_MIRRORS, MNIST_SHA256, DownloadError, download_mnist, load_digits,
                    load_mnist, mnist_paths, read_idx, rendered_digits, write_idx)
from .toy import (TOY_DATASETS, ToyData, TwoGaussians1D, eight_gaussians, swiss_roll, toy_dataset,
                  twenty_five_gaussians, two_gaussians_1d)
