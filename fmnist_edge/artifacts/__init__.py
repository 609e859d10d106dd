"""What the stages write and read back, and what it records:

    rundir.py        a run directory: its paths, run.json read and checked once, the writer lock, --force
    run_data.py      a run's data opened one way for every stage: its --limit, its split, its calibration images
    keras_files.py   a run's Keras files loaded without running code stored in them; evaluate_model
    provenance.py    the one record header: date, machine (its CPU), versions, commit
    plots.py         training curves, confusion matrices, bench plots (matplotlib, imported on use)
"""
