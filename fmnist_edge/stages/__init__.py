"""The stages, one per command, peers that never import each other (import-linter holds them to it):

    train.py      data -> a run directory (model.keras, history, metrics, plots)
    ensemble.py   finished runs -> one run directory whose model averages them
    quantize.py   a run -> optimized/<method>/ (pruning, QAT, post-training quantization) within a drop budget
    export/       a run -> export/ (TFLite with metadata, ONNX, SavedModel), each file checked against its source
    predict.py    a deployed file + pictures -> labels
    benchmark/    deployed files -> bench.json (accuracy, size, MACs, latency) and `check`, the CI gate

Each is one public function (`fmnist_edge.train`, `.ensemble`, `.quantize`, `.export`, `.predict`,
`.bench`, `.check`); where one stage needs what another wrote, it reads the record left in the run
directory, never the other stage's code.
"""
