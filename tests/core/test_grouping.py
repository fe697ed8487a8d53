"""A stack's table at a --depth: units (a layer with the batchnorm and activations after it) and runs of
repeated blocks, whose figures add up to the network's."""

import pytest

from convcalc.api import stack_report
from convcalc.core.grouping import GroupRow, grouped
from convcalc.core.network import LayerRow


def mobilenet(**options):
    return stack_report(preset="mobilenet_v1", verify=False, **options)


def test_depth_2_folds_batchnorm_and_activations_into_the_layer_before():
    report = mobilenet()
    rows = grouped(report.layers, 2)
    # the stem, 13 depthwise and 13 pointwise layers, each with its BatchNorm and ReLU; the pool, flatten
    # and linear layers on their own
    assert len(report.layers) == 3 + 13 * 6 + 3 and len(rows) == 1 + 13 * 2 + 3
    assert [row.name for row in rows[:3]] == ["conv1", "depthwise1", "pointwise1"]
    stem = rows[0]
    assert isinstance(stem, GroupRow) and [m.kind for m in stem.members] == ["conv", "batchnorm", "relu"]
    # 32 x 3 x 3 x 3 weights and the BatchNorm's 2 x 32
    assert stem.figure("params") == 32 * 3 * 3 * 3 + 2 * 32
    assert stem.figure("output_shape") == (1, 32, 112, 112)
    assert sum(row.figure("params") for row in rows) == report.total["params"]
    assert sum(row.figure("macs") for row in rows) == report.total["macs"]


def test_depth_1_makes_each_run_of_repeated_blocks_one_row():
    report = mobilenet()
    rows = grouped(report.layers, 1)
    assert len(rows) == 1 + 13 * 2 + 3 - 5 * 2 + 1  # the five 512-channel blocks: one row
    block = next(row for row in rows if isinstance(row, GroupRow) and row.repeats > 1)
    assert block.repeats == 5 and block.kind == "5 x depthwise, pointwise"
    assert block.name == "depthwise7..pointwise11"
    # each block: a depthwise 3x3 on 512 channels and a pointwise 512 -> 512, BatchNorm after both
    per_block = (512 * 9 + 2 * 512) + (512 * 512 + 2 * 512)
    assert block.figure("params") == 5 * per_block
    assert [r.name for r in block.window_rows] == ["depthwise7", "pointwise7"]
    assert sum(row.figure("macs") for row in rows) == report.total["macs"]


def test_depth_0_and_every_layer():
    report = mobilenet()
    assert grouped(report.layers, 0) == []
    assert grouped(report.layers, 3) == grouped(report.layers, None) == list(report.layers)


def test_a_block_repeats_only_with_the_same_settings_and_shapes():
    report = stack_report(
        "conv out=8 kernel=3 padding=1; relu; conv out=8 kernel=3 padding=1; relu; "
        "conv out=8 kernel=3 padding=1; relu; conv out=8 kernel=5 padding=2; relu; conv out=8 kernel=3 "
        "stride=2 padding=1; relu",
        input_size="8x16x16",
        verify=False,
    )
    rows = grouped(report.layers, 1)
    assert [(row.name, row.kind) for row in rows] == [
        ("conv1..conv3", "3 x conv"),  # conv1's input has 8 channels too: three alike
        ("conv4", "conv"),
        ("conv5", "conv"),
    ]


def test_a_group_differs_where_one_of_its_layers_does():
    def row(name: str, kind: str, measured_params: int) -> LayerRow:
        figures = {"output_shape": (1, 4), "params": 4, "macs": 0}
        return LayerRow(name, kind, 1, (1, 4), figures, {**figures, "params": measured_params})

    unit = grouped((row("linear1", "linear", 4), row("relu1", "relu", 5)), 2)[0]
    assert unit.ok is False
    assert grouped((row("linear1", "linear", 4), row("relu1", "relu", 4)), 2)[0].ok is True


@pytest.mark.parametrize("depth", [-1, 1.5, "1"])
def test_stack_report_refuses_a_depth_that_is_not_a_count(depth):
    with pytest.raises(ValueError, match="depth: got"):
        mobilenet(depth=depth)
