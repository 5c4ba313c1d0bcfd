"""BatchAssembler: concurrent adds, deadlines, slot reuse and zero-copy batches."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from edge.fastpath import Batch, BatchAssembler, PreprocessSpec, preprocess
from peakline.errors import PreprocessError

SPEC = PreprocessSpec(32, 24, mean=(0.4, 0.5, 0.6), std=(0.2, 0.3, 0.4))


def _frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)


def _roi(tag: int) -> tuple[int, int, int, int]:
    return (tag % 100, (tag // 7) % 60, 20 + tag % 40, 10 + tag % 50)


def _address(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])


def test_concurrent_adds_from_several_threads() -> None:
    frame = _frame()
    producers, per_producer = 4, 40
    seen: dict[int, np.ndarray] = {}
    sizes: list[int] = []
    with BatchAssembler(SPEC, batch_size=8, max_wait_ms=20, slots=3, threads=2) as assembler:

        def produce(p: int) -> None:
            for i in range(per_producer):
                tag = p * per_producer + i
                assert assembler.add(frame, _roi(tag), tag, timeout=10)

        def consume() -> None:
            while len(seen) < producers * per_producer:
                batch = assembler.next_batch(timeout=10)
                assert batch is not None
                with batch:
                    sizes.append(len(batch))
                    for row, tag in enumerate(batch.tags):
                        seen[int(tag)] = batch.array[row].copy()

        consumer = threading.Thread(target=consume)
        consumer.start()
        threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        consumer.join(timeout=30)
        assert not consumer.is_alive()
    assert sorted(seen) == list(range(producers * per_producer))
    assert all(1 <= n <= 8 for n in sizes)
    tags = np.array(sorted(seen))
    rois = np.array([_roi(int(t)) for t in tags])
    expected = preprocess(frame, rois, SPEC, threads=1)
    for i, tag in enumerate(tags):
        np.testing.assert_array_equal(seen[int(tag)], expected[i])


def test_partial_batch_is_ready_at_its_deadline() -> None:
    # 400 ms: three adds (microseconds each) must not reach the deadline even on a loaded
    # machine, so "not ready yet" below is about the assembler, not about the scheduler
    assembler = BatchAssembler(SPEC, batch_size=8, max_wait_ms=400)
    frame = _frame(1)
    for tag in range(3):
        assert assembler.add(frame, np.array(_roi(tag)), tag)
    assert assembler.next_batch(timeout=0) is None  # not full, deadline not reached
    batch = assembler.next_batch(timeout=5)
    assert batch is not None
    assert time.monotonic() >= batch.first_added + 0.4
    assert batch.array.shape == SPEC.shape(3)
    assert batch.tags.tolist() == [0, 1, 2]
    batch.release()


def test_full_batch_is_ready_at_once_and_flush() -> None:
    assembler = BatchAssembler(SPEC, batch_size=4, max_wait_ms=60_000)
    frame = _frame(2)
    assert assembler.add_many(frame, np.array([_roi(t) for t in range(6)]), np.arange(6)) == 6
    with assembler.next_batch(timeout=1) as batch:  # type: ignore[union-attr]
        assert batch.tags.tolist() == [0, 1, 2, 3]
    assert assembler.next_batch(timeout=0.05) is None
    assert assembler.pending == 2
    assembler.flush()
    with assembler.next_batch(timeout=1) as batch:  # type: ignore[union-attr]
        assert batch.tags.tolist() == [4, 5]
        expected = preprocess(frame, np.array([_roi(4), _roi(5)]), SPEC)
        np.testing.assert_array_equal(batch.array, expected)


def test_slots_are_reused_after_release_without_copies() -> None:
    assembler = BatchAssembler(SPEC, batch_size=2, max_wait_ms=10_000, slots=1)
    frame = _frame(3)
    assert assembler.add_many(frame, np.array([_roi(1), _roi(2)]), np.array([1, 2])) == 2
    assert not assembler.add(frame, _roi(3), 3, timeout=0.05)  # ring full
    first = assembler.next_batch(timeout=1)
    assert isinstance(first, Batch)
    address = _address(first.array)
    assert address % 64 == 0
    assert first.array.flags.c_contiguous and first.array.dtype == np.float32
    assert not first.array.flags.owndata
    assert not assembler.add(frame, _roi(3), 3, timeout=0.05)  # still taken by the consumer
    first.release()
    first.release()  # idempotent
    assert assembler.add_many(frame, np.array([_roi(3), _roi(4)]), np.array([3, 4])) == 2
    second = assembler.next_batch(timeout=1)
    assert second is not None
    assert _address(second.array) == address  # same slot memory, filled in place
    assert np.shares_memory(first.array, second.array)
    np.testing.assert_array_equal(first.array, second.array)  # first's view now shows slot's data
    second.release()


def test_add_many_stops_when_no_slot_frees() -> None:
    assembler = BatchAssembler(SPEC, batch_size=2, max_wait_ms=10_000, slots=2)
    rois = np.array([_roi(t) for t in range(7)])
    assert assembler.add_many(_frame(), rois, np.arange(7), timeout=0.05) == 4


def test_close_drains_then_returns_none() -> None:
    assembler = BatchAssembler(SPEC, batch_size=4, max_wait_ms=10_000)
    frame = _frame(4)
    assert assembler.add(frame, _roi(0), 0)
    assembler.close()
    assert not assembler.add(frame, _roi(1), 1)
    batch = assembler.next_batch(timeout=1)
    assert batch is not None and batch.tags.tolist() == [0]
    batch.release()
    assert assembler.next_batch() is None  # closed and drained: no wait


def test_close_wakes_a_blocked_consumer() -> None:
    assembler = BatchAssembler(SPEC, batch_size=4, max_wait_ms=10_000)
    result: list[object] = []
    consumer = threading.Thread(target=lambda: result.append(assembler.next_batch()))
    consumer.start()
    time.sleep(0.05)
    assembler.close()
    consumer.join(timeout=5)
    assert result == [None]


def test_close_wakes_a_blocked_producer() -> None:
    assembler = BatchAssembler(SPEC, batch_size=1, max_wait_ms=10_000, slots=1)
    frame = _frame(6)
    assert assembler.add(frame, _roi(0), 0)  # fills the only slot
    result: list[bool] = []
    producer = threading.Thread(target=lambda: result.append(assembler.add(frame, _roi(1), 1)))
    producer.start()
    time.sleep(0.05)
    assert producer.is_alive()  # waiting for a free slot
    assembler.close()
    producer.join(timeout=5)
    assert result == [False]
    batch = assembler.next_batch(timeout=1)
    assert batch is not None and batch.tags.tolist() == [0]


def test_uint8_batches() -> None:
    spec = PreprocessSpec(16, 16, color="gray", output="uint8")
    assembler = BatchAssembler(spec, batch_size=2, max_wait_ms=1)
    frame = _frame(5)
    assert assembler.add(frame, (0, 0, 160, 120), 7)
    with assembler.next_batch(timeout=1) as batch:  # type: ignore[union-attr]
        assert batch.array.dtype == np.uint8 and batch.array.shape == (1, 1, 16, 16)
        expected = preprocess(frame, np.array([0, 0, 160, 120]), spec)
        np.testing.assert_array_equal(batch.array, expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"slots": 0}, "slots"),
        ({"max_wait_ms": -1}, "max_wait_ms"),
        ({"threads": -1}, "threads"),
    ],
)
def test_bad_assembler_arguments(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {"batch_size": 4, "max_wait_ms": 10, "slots": 2, "threads": 0}
    args.update(kwargs)
    with pytest.raises(PreprocessError, match=message):
        BatchAssembler(SPEC, **args)  # type: ignore[arg-type]


def test_bad_items_are_rejected_before_taking_a_row() -> None:
    assembler = BatchAssembler(SPEC, batch_size=2, max_wait_ms=10_000)
    with pytest.raises(PreprocessError, match="outside"):
        assembler.add(_frame(), (150, 0, 20, 20), 1)
    with pytest.raises(PreprocessError, match="dtype"):
        assembler.add(_frame().astype(np.float32), (0, 0, 20, 20), 1)
    with pytest.raises(PreprocessError, match="4 integers"):
        assembler.add(_frame(), (0, 0, 20), 1)  # type: ignore[arg-type]
    with pytest.raises(PreprocessError, match="tags"):
        assembler.add_many(_frame(), np.array([_roi(1)]), np.array([1, 2]))
    assert assembler.pending == 0
