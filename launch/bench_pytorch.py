"""PyTorch side of launch/bench-pytorch.sh: granite-tsfm's TinyTimeMixerForPrediction built from a config.json
written by `ttm bench model --save-config`, timed on the same work as `ttm bench model`: a batch of windows
(a sample is one window of context + horizon steps with the config's channels), random values, for
  pretrain   forward with future_values (MSE loss), backward, clip_grad_norm_(1.0), AdamW step
  fine-tune  the same with the backbone frozen (requires_grad False): decoder and head train
  inference  eval mode, torch.no_grad(), forward only
Prints one JSON object per mode, like `ttm bench model --json`."""
import argparse, json, time

import torch
from tsfm_public.models.tinytimemixer import TinyTimeMixerConfig, TinyTimeMixerForPrediction


def measure(config, mode, batch, steps, threads):
    torch.manual_seed(1)
    model = TinyTimeMixerForPrediction(config)
    c, h, ch = config.context_length, config.prediction_length, config.num_input_channels
    past = torch.randn(batch, c, ch) * 0.3
    future = torch.randn(batch, h, ch) * 0.3
    if mode == "fine-tune":
        for p in model.backbone.parameters():
            p.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.01)
    model.train(mode != "inference")
    total = 0.0
    for step in range(steps + 2):
        started = time.perf_counter()
        if mode == "inference":
            with torch.no_grad():
                model(past_values=past)
        else:
            out = model(past_values=past, future_values=future)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - started
        if step >= 2:
            total += elapsed
    return {"mode": mode, "samples_per_second": batch * steps / total, "step_milliseconds": total / steps * 1e3,
            "threads": threads, "batch": batch, "parameters": sum(p.numel() for p in model.parameters()),
            "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    with open(args.config) as f:
        config = TinyTimeMixerConfig.from_dict(json.load(f))
    for mode in ("pretrain", "fine-tune", "inference"):
        print(json.dumps(measure(config, mode, args.batch, args.steps, args.threads)), flush=True)


if __name__ == "__main__":
    main()
