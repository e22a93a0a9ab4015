# %% [markdown]
# # Chapter 9: a WGAN draws handwritten digits, on the GPU when there is one
#
# Everything so far ran on 2-D toy data. Here the same training loop (`tinywgan.wgan.train`) learns
# 28 x 28 digit images: 784 numbers per sample. The networks are MLPs, those of the project's benchmark spec:
#
# * generator $g_\theta$: $z \sim \mathcal{N}(0, I_{128}) \to 512 \to 512 \to 512 \to 784$, ReLU hidden, tanh
#   output in $[-1, 1]$;
# * critic $f_w$: $x \to 512 \to 512 \to 512 \to 1$, LeakyReLU(0.2) hidden, linear output.
#
# The critic estimates the Wasserstein distance through the Kantorovich-Rubinstein duality (Arjovsky et al.
# 2017, Eq. 2), $W(P_r, P_\theta) = \sup_{\|f\|_L \le 1} \mathbb{E}_{x \sim P_r}[f(x)] -
# \mathbb{E}_{x \sim P_\theta}[f(x)]$, kept (about) 1-Lipschitz by the gradient penalty of Gulrajani et al.
# 2017 or, with `--lipschitz clip`, by the weight clipping of Arjovsky et al. 2017.
#
# The data is MNIST when its files are in `--data DIR` (`--download` fetches them there; nothing touches the
# network without it), else digits rendered offline from matplotlib's fonts
# (`tinywgan.data.mnist.rendered_digits`): the output and every figure title say which.
#
# Device: `--device gpu` (CuPy) is the default when CuPy sees a GPU, else the CPU (NumPy), said at start.
# Default length: 1000 generator steps on the CPU (about 3 minutes with one BLAS thread; the digits take shape
# but stay rough), 20,000 on a GPU (the chapter prints its speed at the end); `--steps N` overrides either.
#
# Run: `python chapters/09_wgan_mnist_gpu.py [--quick] [--out DIR] [--seed N] [--device cpu|gpu|strict]
# [--data DIR] [--download] [--lipschitz gp|clip] [--steps N] [--snapshot-every N] [--resume PATH]`, or step
# through the cells in VS Code / JupyterLab (jupytext); `TINYWGAN_QUICK=1` selects `--quick`.

# %%
import copy
import time
from pathlib import Path

import numpy as np

from tinywgan import nn
from tinywgan.data.mnist import download_mnist, load_mnist, mnist_paths, rendered_digits
from tinywgan.engine import Tensor, backend, no_grad
from tinywgan.engine.backend import Generator, gpu_available, synchronize, to_device, to_numpy
from tinywgan.lab import cli
from tinywgan.lab.classifier import SampleQuality, accuracy, digit_classifier, sample_quality, train_classifier
from tinywgan.wgan import WGANConfig, checkpoint, train

NOISE_DIM = 128
BATCH_SIZE = 64
GRID = 8                 # samples per side of a grid
DATA_SEED = 2017         # the rendered digits are the same whatever --seed is: they are the data
CLASSIFIER_HIDDEN = (256, 256)

# What each kind of run does: images to train on, held out (rendered digits only), classifier steps,
# WGAN generator steps, snapshot interval, samples graded.
SETTINGS = {
    "quick": dict(n_train=2000, n_test=500, classifier_steps=300, steps=6, snapshot_every=3, n_eval=200),
    "cpu": dict(n_train=20000, n_test=2000, classifier_steps=2000, steps=1000, snapshot_every=200,
                n_eval=1000),
    "gpu": dict(n_train=60000, n_test=10000, classifier_steps=5000, steps=20000, snapshot_every=4000,
                n_eval=5000),
}


def add_options(parser) -> None:
    parser.set_defaults(device=None)  # the shared options say cpu; this chapter picks the GPU when there is one
    for action in parser._actions:
        if action.dest == "device":
            action.help = "array backend: gpu (CuPy, the default when it sees a GPU), cpu (NumPy), strict"
    parser.add_argument("--data", default="data/mnist",
                        help="folder with MNIST's four IDX files (default: data/mnist); rendered digits "
                             "when they are absent")
    parser.add_argument("--download", action="store_true", help="fetch MNIST into --data first (network)")
    parser.add_argument("--lipschitz", default="gp", choices=["gp", "clip"],
                        help="gp: WGAN-GP (default); clip: the original WGAN's weight clipping")
    parser.add_argument("--steps", type=int, default=None,
                        help="generator iterations (default: 1000 on cpu, 20000 on gpu, 6 with --quick)")
    parser.add_argument("--snapshot-every", type=int, default=None,
                        help="steps between sample grids and checkpoints (default: 200 on cpu, 4000 on "
                             "gpu, 3 with --quick)")
    parser.add_argument("--lr-schedule", default="constant", choices=["constant", "linear"],
                        help="learning rates constant (default, as the papers) or decaying linearly to 0")
    parser.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                        help="sample from a moving average of the generator's weights with this decay "
                             "(default 0: none; see chapter 07)")
    parser.add_argument("--resume", default=None, metavar="PATH",
                        help="continue from a checkpoint of an earlier run (e.g. OUT/checkpoint.npz)")


def check_options(args) -> None:
    """Refuse bad options before the chapter creates its folder or does any work."""
    for option, value in (("--steps", args.steps), ("--snapshot-every", args.snapshot_every)):
        if value is not None and value < 1:
            raise ValueError(f"{option} must be >= 1; got {value}")
    if not 0 <= args.ema < 1:
        raise ValueError(f"--ema must be in [0, 1) (0: no average); got {args.ema}")
    if args.resume is not None and not Path(args.resume).is_file():
        raise ValueError(f"--resume {args.resume}: no such checkpoint file")


def choose_device(requested: str | None) -> str:
    """The device asked for, or the GPU when CuPy sees one, else the CPU; says which and why."""
    if requested is not None:
        print(f"Device: {requested} (from --device)")
        return requested
    if gpu_available():
        print("Device: gpu (CuPy sees a GPU; --device cpu to train on the CPU instead)")
        return "gpu"
    print("Device: cpu (no GPU visible to CuPy: install tinywgan[gpu] on a CUDA machine to train there)")
    return "cpu"


args = cli.chapter_options("09_wgan_mnist_gpu", "Chapter 9: a WGAN draws handwritten digits, on the GPU "
                           "when there is one", add_options=add_options, validate=check_options)
out = args.out
device = choose_device(args.device)
settings = SETTINGS["quick" if args.quick else ("gpu" if device == "gpu" else "cpu")]
steps = settings["steps"] if args.steps is None else args.steps
snapshot_every = settings["snapshot_every"] if args.snapshot_every is None else args.snapshot_every
checkpoint_path = out / "checkpoint.npz"

# %% [markdown]
# ## 1. The settings of each paper's Algorithm 1
#
# With the gradient penalty (the default) the critic minimises
#
# $$L = \mathbb{E}_{\tilde x \sim P_g}[f(\tilde x)] - \mathbb{E}_{x \sim P_r}[f(x)]
#   + \lambda\, \mathbb{E}_{\hat x}\big[(\|\nabla_{\hat x} f(\hat x)\|_2 - 1)^2\big],
#   \qquad \hat x = \epsilon x + (1 - \epsilon) \tilde x,\ \epsilon \sim U[0, 1]
#   \qquad \text{(Gulrajani et al. 2017, Eq. 3)}$$
#
# with their Algorithm 1's $\lambda = 10$, $n_{\text{critic}} = 5$, Adam lr $10^{-4}$, $\beta_2 = 0.9$; $\beta_1$
# is 0.5, the value of their released MNIST code (the paper's Algorithm 1 lists 0). With `--lipschitz clip`:
# after every critic step each weight is clipped to $[-c, c]$, $c = 0.01$, RMSprop lr $5 \cdot 10^{-5}$,
# $n_{\text{critic}} = 5$ (Arjovsky et al. 2017, Algorithm 1). Batch 64 in both. The generator minimises
# $-\mathbb{E}_z[f(g_\theta(z))]$.
#
# Chapter 07's two remedies for a generator that circles its target, `--lr-schedule linear` (both learning
# rates decay to 0) and `--ema DECAY` (sample from a moving average of the generator's weights), are off by
# default here: the papers' MNIST settings are the lesson, and the CPU run's 1000 steps are about the window of
# an average with decay 0.999 ($1/(1 - \beta)$ steps), so the average would still hold much of the untrained
# generator. On a GPU's 20000 steps `--ema 0.999` is worth a try.
#
# A checkpoint is written every `--snapshot-every` steps; `--resume PATH` continues from one, bit for bit
# the run that never stopped. It is checked here, before any work, against this run's settings.

# %%
common = dict(batch_size=BATCH_SIZE, steps=steps, noise_dim=NOISE_DIM, seed=args.seed, device=device,
              checkpoint_every=snapshot_every, checkpoint_path=str(checkpoint_path), progress=not args.quick,
              lr_schedule=args.lr_schedule, ema_decay=args.ema or None)
if args.lipschitz == "clip":
    config = WGANConfig.clipping(**common)  # Arjovsky et al. 2017, Algorithm 1: c 0.01, RMSprop 5e-5, n_critic 5
else:
    config = WGANConfig(lipschitz="gp", gp_weight=10.0, n_critic=5, optimizer="adam", lr=1e-4,
                        betas=(0.5, 0.9), **common)  # Gulrajani et al. 2017, Algorithm 1 (beta1 of their code)


def check_resume(path, config: WGANConfig) -> int:
    """The step a checkpoint was saved at, after checking it was written by a run with this run's settings."""
    saved = checkpoint.load(path)
    old = saved.metadata["config"]
    for name in ("lipschitz", "batch_size", "noise_dim", "n_critic", "optimizer", "lr_schedule", "ema_decay"):
        if old.get(name, getattr(WGANConfig, name, None)) != getattr(config, name):
            raise SystemExit(f"--resume {path}: the checkpoint's run had {name} = {old[name]!r}, this run "
                             f"has {getattr(config, name)!r}; resume with the same settings")
    return int(saved.metadata["step"])


start = check_resume(args.resume, config) if args.resume else 0  # before any work: fail fast

# %% [markdown]
# ## 2. The data
#
# Images are rows of 784 numbers in $[-1, 1]$ (background $-1$), the range of the generator's tanh. MNIST
# when its four IDX files are in `--data`; otherwise digits rendered from fonts (DejaVu, Computer Modern,
# STIX) with random affine and elastic distortions, a stand-in that needs no download. The figure below shows
# the first 64 training images.

# %%
def load_data(folder, download: bool, settings: dict, device: str) -> dict:
    """Training and test digits on ``device``: MNIST from ``folder`` when it is there, else rendered digits.
    Images are (n, 784) float32 in [-1, 1], background -1; labels int64."""
    if download:
        if folder is None:
            raise SystemExit("--download needs --data DIR: the folder to put MNIST in")
        print(f"Downloading MNIST into {folder} (checked by SHA-256) ...")
        download_mnist(folder)
    if folder is not None and mnist_paths(folder, "train") and mnist_paths(folder, "test"):
        x_train, y_train = load_mnist(folder, "train")
        x_test, y_test = load_mnist(folder, "test")
        n_train, n_test = min(settings["n_train"], len(y_train)), min(settings["n_test"], len(y_test))
        source = "mnist"
        print(f"Data: MNIST from {folder}: {n_train} training images (of {len(y_train)}), "
              f"{n_test} test images for the classifier")
        x_train, y_train = x_train[:n_train], y_train[:n_train]
        x_test, y_test = x_test[:n_test], y_test[:n_test]
    else:
        n_train, n_test = settings["n_train"], settings["n_test"]
        where = f"in {folder}" if folder is not None else "(no --data given)"
        print(f"Data: RENDERED DIGITS, not MNIST: no MNIST files {where}. Pass --data DIR with the four IDX")
        print(f"      files, or add --download to fetch them. Drawing {n_train + n_test} digits from")
        print(f"      matplotlib's fonts instead: {n_train} to train on, {n_test} held out for the "
              f"classifier.")
        t = time.perf_counter()
        images, labels = rendered_digits(n_train + n_test, Generator(DATA_SEED, "cpu"))
        print(f"      (rendered in {time.perf_counter() - t:.1f} s)")
        x_train, y_train = images[:n_train], labels[:n_train]
        x_test, y_test = images[n_train:], labels[n_train:]
        source = "rendered"
    return {"source": source, "x_train": to_device(x_train, device), "y_train": to_device(y_train, device),
            "x_test": to_device(x_test, device), "y_test": to_device(y_test, device)}


def tile(images, grid: int = GRID) -> np.ndarray:
    """grid x grid images (n, 784) as one (grid*29+1)-pixel square array, a 1-pixel border between them."""
    x = to_numpy(images)[: grid * grid].reshape(-1, 28, 28)
    x = np.concatenate([x, np.full((grid * grid - len(x), 28, 28), -1.0, np.float32)])  # pad a short batch
    canvas = np.full((grid * 29 + 1, grid * 29 + 1), 0.0, np.float32)  # grey border
    for k, im in enumerate(x):
        r, c = divmod(k, grid)
        canvas[1 + 29 * r: 29 * (r + 1), 1 + 29 * c: 29 * (c + 1)] = im
    return canvas


def save_grid(images, path, title: str) -> None:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.4, 4.6))
    ax.imshow(tile(images), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    cli.save_figure(fig, path, dpi=100)


data = load_data(args.data, args.download, settings, device)
# Every figure title names the data: rendered digits are not MNIST, and a reader must not take them for it.
data_name = "MNIST" if data["source"] == "mnist" else "digits rendered from fonts (not MNIST)"
x_train = data["x_train"]
n_train = x_train.shape[0]
save_grid(x_train[:min(GRID * GRID, n_train), ...], out / "real_digits.png", f"Training images: {data_name}")

# %% [markdown]
# ## 3. A classifier to grade the samples
#
# A small MLP digit classifier (784-256-256-10, trained with tinywgan itself, `tinywgan.lab.classifier`) on
# the same training digits. Its test accuracy is measured on MNIST's test split, or on held-out rendered
# digits. It is cached in `OUT/classifier.npz` for the same data, seed, device and length, so a resumed run
# grades with the same classifier.

# %%
def get_classifier(data: dict, settings: dict, seed: int, device: str, out, progress: bool):
    """The digit classifier, trained on the training digits or loaded from ``out/classifier.npz`` when that
    file was written for the same data, seed, device and length (a resumed run grades with the same one)."""
    cache = out / "classifier.npz"
    key = {"source": data["source"], "n_train": int(data["y_train"].shape[0]), "seed": seed, "device": device,
           "steps": settings["classifier_steps"], "hidden": list(CLASSIFIER_HIDDEN)}
    if cache.is_file():
        saved = checkpoint.load(cache)
        if saved.metadata.get("key") == key:
            model = digit_classifier(Generator(seed, device), CLASSIFIER_HIDDEN)
            saved.restore(classifier=model)
            print(f"Classifier: loaded from {cache}")
            return model
    t = time.perf_counter()
    model = train_classifier(data["x_train"], data["y_train"], steps=settings["classifier_steps"],
                             batch_size=128, lr=1e-3, hidden=CLASSIFIER_HIDDEN, seed=seed, progress=progress)
    print(f"Classifier: MLP 784-{'-'.join(map(str, CLASSIFIER_HIDDEN))}-10 trained with tinywgan for "
          f"{settings['classifier_steps']} Adam steps of 128 images in {time.perf_counter() - t:.1f} s")
    checkpoint.save(cache, classifier=model, key=key)
    return model


classifier = get_classifier(data, settings, args.seed, device, out, progress=not args.quick)
test_accuracy = accuracy(classifier, data["x_test"], data["y_test"])
held_out = "MNIST's test split" if data["source"] == "mnist" else "held-out rendered digits"
print(f"Classifier test accuracy on {data['y_test'].shape[0]} {held_out}: {100 * test_accuracy:.2f} %")

# %% [markdown]
# ## 4. Train the WGAN
#
# `tinywgan.wgan.train` runs the loop of chapters 6 and 7 (each generator iteration: $n_{\text{critic}}$
# critic steps on fresh real and generated batches, then one generator step), with a checkpoint every
# `--snapshot-every` steps. Every `--snapshot-every` steps a callback also draws an 8 x 8 grid of samples
# $g_\theta(z)$ of one fixed batch of $z$, so successive grids show the same 64 samples improving.

# %%
def make_networks(seed: int, device: str):
    """The benchmark spec's MLPs: generator 128-512-512-512-784 (ReLU, tanh out), critic 784-512-512-512-1
    (LeakyReLU 0.2), with PyTorch's default initialisation, drawn from one Generator seeded with ``seed``."""
    rng = Generator(seed, device)
    generator = nn.MLP([NOISE_DIM, 512, 512, 512, 784], activation="relu", output_activation="tanh", rng=rng)
    critic = nn.MLP([784, 512, 512, 512, 1], activation=nn.LeakyReLU(0.2), rng=rng)
    return generator, critic


def generate(generator, n: int, seed: int, device: str, batch: int = 1000):
    """n samples g(z) of fixed noise z ~ N(0, I) drawn from ``Generator(seed)``, without a graph."""
    rng = Generator(seed, device)
    xp = rng.xp
    parts = []
    with no_grad():
        for lo in range(0, n, batch):
            parts.append(generator(Tensor(rng.normal((min(batch, n - lo), NOISE_DIM)))).data)
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)  # backend fills concat in for CuPy 13


generator, critic = make_networks(args.seed, device)
# With --ema the moving average of the generator's weights draws every sample below (chapter 07 says why).
generator_ema = copy.deepcopy(generator) if config.ema_decay is not None else None
sampler = generator if generator_ema is None else generator_ema
print(f"\nWGAN-{config.lipschitz}: {config.optimizer} lr {config.lr}, n_critic {config.n_critic}, batch "
      f"{config.batch_size}, " + (f"lambda {config.gp_weight}" if config.lipschitz == "gp"
                                  else f"clip c {config.clip_value}")
      + f"; generator steps {start + 1}..{config.steps}"
      + (f" (resumed from {args.resume})" if start else "")
      + f"; grids every {snapshot_every} steps")
xp = backend.array_namespace(x_train)


def sample_real(n, rng):
    return xp.take(x_train, rng.integers(0, n_train, (n,)), axis=0)


grid_files, time_in_callback = [], [0.0]


def snapshot(step, log):
    if step % snapshot_every or step == config.steps:
        return
    t = time.perf_counter()
    path = out / f"samples_step{step:06d}.png"
    save_grid(generate(sampler, GRID * GRID, args.seed + 1, device), path,
              f"WGAN-{config.lipschitz}, step {step}: W estimate {log.w_estimate[-1]:.3f}\ntrained on {data_name}")
    grid_files.append(path.name)
    time_in_callback[0] += time.perf_counter() - t


log = train(config, sample_real, generator, critic, resume=args.resume, callback=snapshot,
            generator_ema=generator_ema)
synchronize(device)
trained = len(log) - start

# %% [markdown]
# ## 5. The final samples and the critic's W estimate
#
# The final grid (the same 64 $z$ as the snapshots), and the critic's estimate
# $\mathbb{E} f(\text{real}) - \mathbb{E} f(\text{fake})$ at every generator iteration. Arjovsky et al. 2017
# (Fig. 3) show it falling as the samples improve: the WGAN loss is a meaningful measure of training
# progress. With clipping it estimates $K \cdot W$ for an unknown $K$.

# %%
def save_w_curve(log, lipschitz: str, path) -> None:
    import matplotlib.pyplot as plt
    w = np.asarray(log.w_estimate)
    window = max(1, len(w) // 50)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    if window == 1:  # too few steps to smooth: one curve, every step
        ax.plot(log.step, w, "o-", color="tab:blue", ms=3, lw=1.2, label="W estimate at each step")
    else:
        smooth = np.convolve(w, np.ones(window) / window, mode="valid")
        ax.plot(log.step, w, color="tab:blue", alpha=0.3, lw=0.8, label="W estimate at each step")
        ax.plot(log.step[window - 1:], smooth, color="tab:blue", lw=2,
                label=f"running mean over the last {window} steps")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel("E f(real) - E f(fake)" + ("   (= K * W)" if lipschitz == "clip" else ""))
    ax.set_title(f"The critic's W estimate during training (WGAN-{lipschitz})\ntrained on {data_name}",
                 fontsize=10)
    ax.legend()
    cli.save_figure(fig, path)


save_grid(generate(sampler, GRID * GRID, args.seed + 1, device), out / "samples_final.png",
          f"WGAN-{config.lipschitz}, step {len(log)} (final)\ntrained on {data_name}")
save_w_curve(log, config.lipschitz, out / "w_estimate.png")
tail = log.w_estimate[-max(1, len(log) // 10):]
w_final = float(np.mean(tail))
print(("W estimate at the last step" if len(tail) == 1 else f"W estimate, mean of the last {len(tail)} steps")
      + f": {w_final:.4f}"
      + ("  (K * W: clipping fixes K only up to a constant)" if config.lipschitz == "clip" else ""))
# Does this run show Fig. 3's fall? The peak of the first half's running mean against the last tenth's mean.
window = max(1, len(log) // 10)
running = np.convolve(np.asarray(log.w_estimate), np.ones(window) / window, mode="valid")
peak = int(np.argmax(running[: max(1, len(running) // 2)]))
w_peak = float(running[peak])
if len(log) >= 20 and w_final < 0.8 * w_peak:
    print(f"  it peaked at {w_peak:.4f} (mean of steps {log.step[peak]}..{log.step[peak + window - 1]}) and fell "
          f"to {w_final:.4f}: the falling curve of Arjovsky et al. 2017, Fig. 3")
else:
    print(f"  this run does not show the fall of Arjovsky et al. 2017, Fig. 3 (first-half peak of the running "
          f"mean {w_peak:.4f}, last {w_final:.4f})" + (": too few steps" if len(log) < 20 else ""))

# %% [markdown]
# ## 6. The samples, graded by the classifier
#
# Which digits does the classifier see among 1000 generated samples (5000 on a GPU)? A collapsed generator
# draws few classes: the entropy of the class histogram, $H = -\sum_k p_k \log p_k$, is $\log 10 = 2.303$
# nats when all ten are equally common. Blurry, digit-less samples show as a low mean confidence
# $\mathbb{E}[\max_k p(k \mid x)]$. The same numbers for real images are the target.

# %%
def save_histograms(fake: SampleQuality, real: SampleQuality, path) -> None:
    import matplotlib.pyplot as plt
    digits = np.arange(len(fake.histogram))
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for shift, q, name in ((-0.2, real, "real"), (0.2, fake, "generated")):
        share = np.asarray(q.histogram) / max(1, sum(q.histogram))
        ax.bar(digits + shift, share, width=0.4,
               label=f"{name}: entropy {q.entropy:.2f} nats, confidence {q.mean_confidence:.2f}")
    ax.axhline(0.1, color="black", ls="--", lw=0.8)
    ax.set_xticks(digits)
    ax.set_xlabel("digit the classifier sees")
    ax.set_ylabel("share of samples")
    ax.set_title(f"Which digits the generator draws (dashed: all ten equally often)\ntrained on {data_name}",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17))
    cli.save_figure(fig, path)


def quality_line(name: str, q: SampleQuality) -> str:
    return f"  {name:9s} " + " ".join(f"{c:5d}" for c in q.histogram) + f"   {q.summary()}"


fake_quality = sample_quality(classifier, generate(sampler, settings["n_eval"], args.seed + 2, device))
n_real = min(settings["n_eval"], data["x_test"].shape[0])
real_quality = sample_quality(classifier, data["x_test"][:n_real, ...])
print(f"\n== Samples graded by the classifier ({settings['n_eval']} each) ==")
print("  digit:    " + " ".join(f"{d:5d}" for d in range(10)))
print(quality_line("real", real_quality))
print(quality_line("generated", fake_quality))
print(f"  all ten digits among the generated samples: {'yes' if fake_quality.all_digits else 'no'}")
save_histograms(fake_quality, real_quality, out / "class_histogram.png")

# %% [markdown]
# ## 7. Speed
#
# The training loop's own clock, less the time the callback spent drawing grids: milliseconds per generator
# iteration ($n_{\text{critic}}$ critic steps and one generator step) and generated images per second,
# $64 \cdot (n_{\text{critic}} + 1)$ per iteration. The speed layer `tinywgan/fast/` is on by default (the
# same numbers); `TINYWGAN_FAST=0` times the textbook engine alone.

# %%
speed = {}
if trained > 0:
    before = log.wall_time[start - 1] if start else 0.0
    seconds = log.wall_time[-1] - before - time_in_callback[0]
    per_step = np.diff(np.asarray([before] + log.wall_time[start:]))
    speed = {"seconds": seconds, "ms_per_iteration": 1000 * seconds / trained,
             "median_ms_per_iteration": 1000 * float(np.median(per_step)),
             "images_per_second": BATCH_SIZE * (config.n_critic + 1) * trained / seconds}
    print(f"\n== Speed on {device} ({trained} generator iterations in {seconds:.1f} s, grids excluded) ==")
    print(f"  {speed['ms_per_iteration']:.1f} ms per generator iteration (median "
          f"{speed['median_ms_per_iteration']:.1f} ms); each is {config.n_critic} critic iterations and "
          f"one generator update")
    print(f"  {speed['images_per_second']:.0f} generated images per second (batch {BATCH_SIZE} x "
          f"(n_critic + 1) = {BATCH_SIZE * (config.n_critic + 1)} per generator iteration)")
else:
    print(f"\nNothing to train: the checkpoint is at step {start} and --steps is {config.steps}")

# %%
figures = ["real_digits.png", *grid_files, "samples_final.png", "w_estimate.png", "class_histogram.png"]
claims = {
    "device": device, "source": data["source"], "lipschitz": config.lipschitz, "steps": len(log),
    "start_step": start, "classifier_test_accuracy": test_accuracy,
    "histogram": fake_quality.histogram, "n_classes": fake_quality.n_classes,
    "all_digits": fake_quality.all_digits, "entropy": fake_quality.entropy,
    "mean_confidence": fake_quality.mean_confidence, "real_entropy": real_quality.entropy,
    "real_mean_confidence": real_quality.mean_confidence, "real_n_classes": real_quality.n_classes,
    "w_estimate_final": w_final, "w_estimate": list(log.w_estimate), "figures": figures,
    "checkpoint": str(checkpoint_path) if config.checkpoint_every else None, **speed,
}
print(f"\nFigures written to {out}/: " + " ".join(figures)
      + (f"\nCheckpoint: {checkpoint_path} (continue with --resume {checkpoint_path} --steps N)"
         if config.checkpoint_every and checkpoint_path.is_file() else ""))
