#!/usr/bin/env python3
"""Read a TensorBoard event file written by RunKit's TensorBoardWriter with the `tensorboard`
Python package and print its scalars: proves the TFRecord framing, CRCs and Event protobuf
are what TensorBoard expects. Run by hand (tests never call Python):

    RUNKIT_TB_DIR=/tmp/runkit-tb swift test -c release --filter writerFileReadsBack
    python Reference/read_tensorboard.py /tmp/runkit-tb

from the repository root.

Needs `pip install tensorboard` (tested with tensorboard 2.21.0). Exits 1 if no scalars.
"""
import glob, os, sys

from tensorboard.backend.event_processing import event_accumulator, event_file_loader


def main(path):
    files = sorted(glob.glob(os.path.join(path, "events.out.tfevents.*"))) if os.path.isdir(path) else [path]
    if not files:
        sys.exit(f"no events.out.tfevents.* files in {path}")
    for f in files:
        # 1. Raw events through the loader TensorBoard uses (checks record CRCs).
        events = list(event_file_loader.LegacyEventFileLoader(f).Load())
        print(f"{os.path.basename(f)}: {len(events)} events; first file_version={events[0].file_version!r}")
    # 2. The scalars as TensorBoard's UI sees them.
    acc = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    if not tags:
        sys.exit("no scalars found")
    for tag in sorted(tags):
        for s in acc.Scalars(tag):
            print(f"{tag}\tstep={s.step}\twall_time={s.wall_time:.3f}\tvalue={s.value:.6g}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
