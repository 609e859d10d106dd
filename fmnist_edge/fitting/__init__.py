"""What the loops that fit a Keras model share (train, and quantize's QAT and pruning fine-tuning):

    loop.py           input pipelines, optimizer, objective (with distillation), precision, the epoch progress
    distribution.py   tf.distribute strategies: one device, mirrored, multi-worker

Nothing is imported here, so `from fmnist_edge.fitting.distribution import STRATEGIES` stays cheap.
"""
