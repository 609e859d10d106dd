"""Training on several devices or machines with TensorFlow's own distribution strategies.

    auto          mirrored when more than one GPU is visible, else one
    one           one device (the first GPU, else the CPU): TensorFlow's default strategy
    mirrored      tf.distribute.MirroredStrategy over all local GPUs, or the devices given
    multi-worker  tf.distribute.MultiWorkerMirroredStrategy, the cluster read from TF_CONFIG

The batch size a user asks for is the global batch: each of N replicas computes 1/N of it
and their gradients are summed, so a run on N devices takes the same steps as a run on
one. The learning rate is not scaled by default; `scale_lr=True` multiplies it by the
replica count (the linear scaling rule, for when the per-device batch is kept instead).

`logical_cpus=N` splits the CPU into N logical devices so `mirrored` can run (and be tested)
without GPUs; it must happen before TensorFlow starts its runtime, so call it first.

In a multi-worker job every worker runs the same command. Only the chief (task "chief", or
worker 0 when there is none) writes the run directory; the others save what Keras makes
every worker save (collective ops) into temporary folders that are deleted at once, as
TensorFlow's multi-worker guide requires. Keras' BackupAndRestore keeps the epoch
checkpoints: after a worker dies, start every worker again with `--resume`.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .. import _tf
from ..errors import FmnistEdgeError, one_line

STRATEGIES = ("auto", "one", "mirrored", "multi-worker")


@dataclass
class Distribution:
    """The strategy a job runs under and this process's place in it."""

    name: str
    strategy: Any  # tf.distribute.Strategy
    replicas: int
    devices: list[str]
    task: dict[str, Any] | None = None  # {"type": "worker", "index": 1} in a multi-worker job
    cluster_has_chief: bool = False

    @property
    def is_chief(self) -> bool:
        if not self.task:
            return True
        if self.cluster_has_chief:
            return self.task["type"] == "chief"
        return self.task["type"] == "worker" and self.task["index"] == 0

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "replicas": self.replicas, "devices": self.devices, "task": self.task}

    @contextlib.contextmanager
    def writable(self, path: Path) -> Iterator[Path]:
        """`path` on the chief; elsewhere a temporary path, removed afterwards (every worker must save)."""
        if self.is_chief:
            yield path
            return
        folder = Path(tempfile.mkdtemp(prefix="fmnist-edge-worker-"))
        try:
            yield folder / path.name
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def split_cpu(logical_cpus: int) -> None:
    """Present the CPU as `logical_cpus` devices (before TensorFlow's runtime starts)."""
    tf = _tf.tf()
    if logical_cpus < 1:
        raise FmnistEdgeError(f"--logical-cpus must be at least 1, got {logical_cpus}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    except RuntimeError:  # the runtime already started in this process
        raise FmnistEdgeError("--logical-cpus must be set before TensorFlow starts: run it in a fresh process") from None


def make_distribution(name: str = "auto", devices: list[str] | None = None, logical_cpus: int | None = None,
                      ) -> Distribution:
    """Build the strategy `name` (see the module docstring)."""
    if name not in STRATEGIES:
        raise FmnistEdgeError(f"--strategy must be one of {', '.join(STRATEGIES)}; got {name!r}")
    tf = _tf.tf()
    if logical_cpus is not None:
        split_cpu(logical_cpus)
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 or devices else "one"
    if name == "one":  # TensorFlow's default strategy: no distribution at all, on its default device
        return Distribution("one", tf.distribute.get_strategy(), 1, ["/gpu:0" if gpus else "/cpu:0"])
    if devices:
        known = {d.name.lower().replace("/device:", "/") for d in tf.config.list_logical_devices()}
        missing = [d for d in devices if d.lower().replace("/device:", "/").replace("/job:localhost/replica:0/task:0", "")
                   not in known]
        if missing:
            raise FmnistEdgeError(f"--devices: no device {missing[0]} here; this machine has "
                                  f"{', '.join(sorted(known))}")
    if name == "mirrored":
        if not devices and not gpus:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        try:
            strategy = tf.distribute.MirroredStrategy(devices=devices or None)
        except (ValueError, RuntimeError) as exc:
            raise FmnistEdgeError(f"--strategy mirrored: {one_line(exc)}") from None
        return Distribution("mirrored", strategy, strategy.num_replicas_in_sync, list(strategy.extended.worker_devices))
    return _multi_worker(tf)


def _multi_worker(tf) -> Distribution:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise FmnistEdgeError("--strategy multi-worker reads the cluster from TF_CONFIG, which is not set "
                              "(see README: several machines)")
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        task = {"type": str(task["type"]), "index": int(task["index"])}
        workers = list(cluster.get("chief", [])) + list(cluster.get("worker", []))
    except (ValueError, KeyError, TypeError) as exc:
        raise FmnistEdgeError(f"TF_CONFIG is not a valid cluster description ({exc})") from None
    if task["type"] not in cluster or task["index"] >= len(cluster[task["type"]]):
        raise FmnistEdgeError(f"TF_CONFIG: task {task['type']} {task['index']} is not in its cluster")
    # Ring all-reduce works on CPUs and GPUs alike; NCCL would need a GPU on every worker.
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    return Distribution("multi-worker", strategy, strategy.num_replicas_in_sync, workers, task, "chief" in cluster)


def distribute_options(dataset, distribution: Distribution):
    """Shard a multi-worker input pipeline by element: in-memory arrays have no files to shard by."""
    if distribution.name != "multi-worker":
        return dataset
    tf = _tf.tf()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
