"""PyTorch peer of test/bench/training.bench.ts: the same networks, one Adam step each.

Usage: python torch_models.py '{"model": "cnn3d-32", "steps": 5, "threads": 1}'
Prints one JSON line: {model, threads, batch, steps, msPerStep, examplesPerSecond,
parameters, torch}. msPerStep is the median over `steps` timed steps, after 2
warm-up steps.

The networks mirror the tfjs ones layer for layer (tfjs is channels-last,
PyTorch channels-first: the same arithmetic): 3x3(x3) convolutions with
'same' padding (padding 1) and bias, ReLU, 2x max pooling with stride 2,
global average pooling (2D) or a 4-cube average pooling + flatten (3D,
equivalent at 4-cube feature maps), a dense output. float32, Adam (lr 1e-3),
random normal inputs. Loss: mean squared error against random targets, as the
tfjs side; the fedpet plan model (pet-mip-cnn) uses the Cox partial
likelihood like fedpet's trainLocal (continuous random times: no ties, so
Breslow = Efron).
"""

import json
import statistics
import sys
import time
import warnings

# torch warns at import when NumPy is absent; the peer does not need NumPy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
from torch import nn  # noqa: E402

WARMUP_STEPS = 2


def conv_stack(conv, pool, in_channels, filters, pool_after):
    """conv(3, same) + ReLU per filter count, a 2x max pool after the first `pool_after`."""
    layers = []
    for index, out_channels in enumerate(filters):
        layers += [conv(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        if index < pool_after:
            layers.append(pool(2))
        in_channels = out_channels
    return layers


def mip_cnn():
    """2D MIP CNN: [N, 2, 128, 128]; conv 16/32/64/64, pools after three, GAP, dense 1."""
    return nn.Sequential(
        *conv_stack(nn.Conv2d, nn.MaxPool2d, 2, [16, 32, 64, 64], 3),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 1),
    )


def cnn3d_32():
    """3D CNN: [N, 1, 32, 32, 32]; conv 16/32/48/72, pools after three, 4-cube average pool, dense 1."""
    return nn.Sequential(
        *conv_stack(nn.Conv3d, nn.MaxPool3d, 1, [16, 32, 48, 72], 3),
        nn.AvgPool3d(4),
        nn.Flatten(),
        nn.Linear(72, 1),
    )


def cnn3d_64():
    """3D CNN: [N, 1, 64, 64, 64]; conv 16/32/64/128/224, pools after four, 4-cube average pool, dense 1."""
    return nn.Sequential(
        *conv_stack(nn.Conv3d, nn.MaxPool3d, 1, [16, 32, 64, 128, 224], 4),
        nn.AvgPool3d(4),
        nn.Flatten(),
        nn.Linear(224, 1),
    )


def pet_mip_cnn_plan():
    """fedpet's pet-mip-cnn plan at its defaults: [N, 2, 64, 64]; conv 8/16/16 each pooled, GAP, dense 16 ReLU, risk (no bias)."""
    return nn.Sequential(
        *conv_stack(nn.Conv2d, nn.MaxPool2d, 2, [8, 16, 16], 3),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 16),
        nn.ReLU(),
        nn.Linear(16, 1, bias=False),
    )


def mse_loss(output, target):
    return torch.mean((output - target) ** 2)


def cox_loss(output, target):
    """Mean over events of log sum_{j in R(t_i)} exp(eta_j) - eta_i (risk set: time >= t_i)."""
    eta = output.reshape(-1)
    time_, event = target[:, 0], target[:, 1]
    order = torch.argsort(time_, descending=True)
    eta_sorted = eta[order]
    log_risk = torch.logcumsumexp(eta_sorted, dim=0)
    events = event[order] > 0
    return torch.mean(log_risk[events] - eta_sorted[events])


def random_cox_target(generator, batch):
    time_ = torch.rand(batch, generator=generator) * 1000 + 1
    event = torch.zeros(batch)
    event[: (batch + 1) // 2] = 1  # half the rows are events, the first always one
    return torch.stack([time_, event], dim=1)


MODELS = {
    # name: (builder, input shape without batch, batch, loss, target maker)
    "mip-cnn-128": (mip_cnn, (2, 128, 128), 16, mse_loss, None),
    "cnn3d-32": (cnn3d_32, (1, 32, 32, 32), 8, mse_loss, None),
    "cnn3d-64": (cnn3d_64, (1, 64, 64, 64), 4, mse_loss, None),
    "pet-mip-cnn": (pet_mip_cnn_plan, (2, 64, 64), 16, cox_loss, random_cox_target),
}


def run(name, steps, threads):
    if name not in MODELS:
        raise SystemExit(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")
    if steps < 1 or threads < 1:
        raise SystemExit("steps and threads must be at least 1")
    torch.set_num_threads(threads)
    build, shape, batch, loss_fn, make_target = MODELS[name]
    generator = torch.Generator().manual_seed(2026)
    torch.manual_seed(2026)
    model = build()
    x = torch.randn((batch, *shape), generator=generator, dtype=torch.float32)
    y = make_target(generator, batch) if make_target else torch.randn((batch, 1), generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        value = loss.item()
        if value != value:  # NaN
            raise SystemExit(f"{name}: loss is NaN")

    for _ in range(WARMUP_STEPS):
        step()
    samples = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1000)
    ms = statistics.median(samples)
    return {
        "model": name,
        "threads": threads,
        "batch": batch,
        "steps": steps,
        "msPerStep": ms,
        "examplesPerSecond": batch * 1000 / ms,
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
    }


if __name__ == "__main__":
    args = json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")
    print(json.dumps(run(str(args.get("model")), int(args.get("steps", 5)), int(args.get("threads", 1)))))
