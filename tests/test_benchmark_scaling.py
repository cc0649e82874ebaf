"""`benchmarks/scaling.py` runs in a tiny size, so CI catches a broken benchmark (no timing
assertions: the size-scaling ratios are read from `make bench`, not asserted here)."""

from __future__ import annotations

from benchmarks import scaling


def test_scaling_times_every_input_of_every_check_at_two_sizes():
    rows = scaling.main(["--rounds", "1", "--size", "400", "--min-sample", "0"])
    expected = [
        (check, name) for check, (inputs, _, _) in scaling.CHECKS.items() for name in inputs
    ]
    assert [(row["check"], row["input"]) for row in rows] == expected
    for row in rows:
        assert 3.5 <= row["big_chars"] / row["small_chars"] <= 4.5, row
        assert row["small_ms"] > 0
        assert row["big_ms"] > 0
        assert row["ratio"] > 0


def test_firewall_inputs_are_the_former_timing_test_texts_at_200kb():
    texts = {name: make(200_000) for name, make in scaling.FIREWALL_INPUTS.items()}
    assert texts["'ignore all' run"] == "ignore all " * 20_000
    assert texts["base64 lines"] == ("QUJD" * 40 + "\n") * 1200
    assert all(190_000 <= len(text) <= 220_012 for text in texts.values())
