"""The IQ sink's writer: a write that fails ends the flowgraph with the error kept.

GNU Radio's file sink throws in its thread when a write fails (a full disk), and the blocks
upstream then wait for it forever: a task on a full disk ended only at its timeout, saying so
instead of "disk full" (test_cli's full-disk test hung in 2 of 5 runs). /dev/full fails every
write with ENOSPC, as a full filesystem does.
"""
from __future__ import annotations

import errno
import threading

from gnuradio import blocks, gr

from gnuradio.scos.iq_sink import iq_writer


def test_a_write_that_fails_ends_the_flowgraph_and_the_writer_keeps_why():
    tb = gr.top_block()
    source = blocks.null_source(gr.sizeof_gr_complex)
    head = blocks.head(gr.sizeof_gr_complex, 50_000_000)  # far more than any buffer holds
    writer = iq_writer("/dev/full")
    tb.connect(source, head, writer)
    tb.connect(head, blocks.null_sink(gr.sizeof_gr_complex))  # a second reader, like the probe
    done = threading.Event()
    runner = threading.Thread(target=lambda: (tb.run(), done.set()), daemon=True)
    runner.start()
    finished = done.wait(30)
    if not finished:
        tb.stop()
    assert finished, "the flowgraph went on waiting for a writer that had failed"
    assert writer.error is not None and writer.error.errno == errno.ENOSPC
    assert writer.bytes_written == 0


def test_the_writer_makes_its_file_when_the_flowgraph_starts_and_writes_every_sample(tmp_path):
    path = tmp_path / "later.cf32"
    tb = gr.top_block()
    source = blocks.vector_source_c([complex(i, -i) for i in range(1000)], repeat=True)
    writer = iq_writer(str(tmp_path / "first"))
    writer.path = str(path)  # the task's name, given after the flowgraph was built
    tb.connect(source, blocks.head(gr.sizeof_gr_complex, 300_000), writer)
    assert not path.exists()
    tb.run()
    assert writer.error is None and writer.bytes_written == path.stat().st_size == 300_000 * 8
    assert not (tmp_path / "first").exists()
