"""Tables on a Dask cluster: a real multi-process LocalCluster, a Client, an address, and
an unreachable scheduler. Skipped only when dask.distributed is not installed (CI has it)."""
import time

import pytest

distributed = pytest.importorskip("distributed")

from accountant.cli import main  # noqa: E402
from accountant.calibration.tables import noise_table  # noqa: E402

GRID = ("2,4", "1e-5", "0.02,0.05")
EPOCHS = "1,3"


def _same(rows):
    """Rows without the timing, which is all that may differ between runs."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cl:
        yield cl


@pytest.fixture(scope="module")
def local_rows():
    return noise_table(*GRID, epochs=EPOCHS, workers=1)


def test_cluster_object_matches_local(cluster, local_rows):
    rows = noise_table(*GRID, epochs=EPOCHS, dask_scheduler=cluster)
    assert len(rows) == 8
    assert _same(rows) == _same(local_rows)
    assert all(r["kind"] == "certified" and r["epsilon"] <= r["target_epsilon"] for r in rows)


def test_address_string_matches_local(cluster, local_rows):
    rows = noise_table(*GRID, epochs=EPOCHS, dask_scheduler=cluster.scheduler_address)
    assert _same(rows) == _same(local_rows)


def test_client_is_used_and_left_open(cluster, local_rows):
    with distributed.Client(cluster, set_as_default=False) as client:
        rows = noise_table(*GRID, epochs=EPOCHS, dask_scheduler=client)
        assert client.status == "running"            # the caller's client is not closed
        assert _same(rows) == _same(local_rows)
        # and still usable
        assert client.submit(sum, [1, 2], pure=False).result() == 3


def test_cli_dask_scheduler(cluster, tmp_path, capsys):
    out = tmp_path / "t.json"
    assert main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.05",
                 "--epochs", "1,2", "--dask-scheduler", cluster.scheduler_address,
                 "--no-progress", "--output", str(out)]) == 0
    assert "wrote 2 cells" in capsys.readouterr().out


def test_unreachable_scheduler_fails_fast():
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="dask_scheduler.*tcp://127.0.0.1:1"):
        noise_table("2", "1e-5", "0.05", epochs="1", dask_scheduler="tcp://127.0.0.1:1")
    elapsed = time.monotonic() - t0
    print(f"unreachable scheduler: ValueError after {elapsed:.2f} s")
    assert elapsed < 10.0          # a short connection timeout, not distributed's 30 s


@pytest.mark.parametrize("bad", ["nonsense", "http://host:1", 42])
def test_bad_scheduler_argument(bad):
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="dask_scheduler"):
        noise_table("2", "1e-5", "0.05", epochs="1", dask_scheduler=bad)
    assert time.monotonic() - t0 < 3


def test_cli_unreachable_scheduler_one_line(tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.05",
                 "--epochs", "1", "--dask-scheduler", "tcp://127.0.0.1:1",
                 "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Dask scheduler" in err
    assert not out.exists()
