"""The chapters' helpers for timing (``nndl.book.timing``, chapter 5) and for the three
witnesses on real data (``nndl.book.witnesses``, chapter 11)."""

import time

import numpy as np
import pytest

from derivations import spatial_batchnorm, spatial_groupnorm
from nndl import layers
from nndl.book.timing import Timing, keep_freed_memory, time_calls, timing_report
from nndl.book.witnesses import grouped, witness_errors
from tests.strategies import offset_and_scaled


def test_time_calls_times_every_call_and_counts_fresh_pages():
    calls = {"sleep": lambda: time.sleep(0.002), "fresh": lambda: np.ones(2**23).sum()}
    timings = time_calls(calls, rounds=3, number=2)
    assert set(timings) == {"sleep", "fresh"}
    assert timings["sleep"].ms >= 2.0
    assert timings["fresh"].faults > 0  # 64 MiB, above what glibc keeps: new pages every call
    report = timing_report("title", timings, baseline="sleep")
    assert report.splitlines()[0] == "title" and "1.0x" in report.splitlines()[1]


def test_keep_freed_memory_answers_whether_it_could():
    assert keep_freed_memory() in (True, False)
    report = timing_report("t", {"a": Timing(2.0, 0), "b": Timing(1.0, 3)}, baseline="a")
    assert "2.0x" in report.splitlines()[2]


@pytest.mark.spatial_batchnorm
@pytest.mark.spatial_groupnorm
def test_the_three_witnesses_are_at_round_off_for_nndls_image_layers():
    rng = np.random.default_rng(0)
    x = offset_and_scaled(rng, (3, 4, 6, 6), axis=1)
    gamma, dout = rng.uniform(0.5, 2, 4), rng.standard_normal(x.shape)
    eps = 1e-5
    sbn = witness_errors(
        lambda v: layers.spatial_batchnorm_forward(v, gamma, 0 * gamma, {"eps": eps}),
        layers.spatial_batchnorm_backward, layers.spatial_batchnorm_backward_alt,
        spatial_batchnorm(), x, dout, {"gamma": gamma}, eps,
    )  # fmt: skip
    g4 = gamma.reshape(1, 4, 1, 1)
    gn = witness_errors(
        lambda v: layers.spatial_groupnorm_forward(v, g4, 0 * g4, 2, {"eps": eps}),
        layers.spatial_groupnorm_backward, layers.spatial_groupnorm_backward_alt,
        spatial_groupnorm(), x, dout, {"gamma": g4}, eps, layout=grouped(2),
    )  # fmt: skip
    for errors in (sbn, gn):
        assert errors["staged vs closed form"] < 1e-12
        assert errors["nndl vs derived (term-scaled)"] <= 1e-12
        assert errors["numerical gradient"] < 1e-7


@pytest.mark.spatial_groupnorm
def test_a_wrong_backward_shows_in_the_witnesses():
    rng = np.random.default_rng(1)
    x = offset_and_scaled(rng, (2, 4, 6, 6), axis=1)
    g4, dout = np.ones((1, 4, 1, 1)), rng.standard_normal(x.shape)

    def without_the_mean_path(dout, cache):
        dx, dgamma, dbeta = layers.spatial_groupnorm_backward(dout, cache)
        shift = dout.reshape(2, 2, -1).mean(axis=2) * cache.inv_std.reshape(2, 2)
        return dx + np.repeat(shift, 2, axis=1)[:, :, None, None], dgamma, dbeta

    with pytest.raises(AssertionError, match="dx differs from the derived closed form"):
        witness_errors(
            lambda v: layers.spatial_groupnorm_forward(v, g4, 0 * g4, 2, {}),
            without_the_mean_path, layers.spatial_groupnorm_backward_alt,
            spatial_groupnorm(), x, dout, {"gamma": g4}, 1e-5, layout=grouped(2),
        )  # fmt: skip
