"""``radminer.engines.dask`` and ``radminer extract --engine dask`` on a local cluster of 2 worker processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run

import radminer
from radminer.engines import dask as radminer_dask
from radminer.errors import InputError, RadminerError

pd = pytest.importorskip("pandas")

FINDINGS = (
    "Hepatic mass BOOKMARK. Liver nodule.",
    "",
    "Low density left adrenal nodule BOOKMARK, likely adenoma.",
    "Right lung nodule, 5 × 3 mm.\nNo pleural effusion.",
    "Possible enlarged axillary lymph nodes BOOKMARK. Right renal cyst BOOKMARK.",
    "No focal consolidation. Clear lungs.",
)
IMPRESSIONS = ("Stable.", "", "No pneumothorax.", "Pulmonary nodule BOOKMARK, may be a granuloma.", "")


def reports(n: int = 36) -> pd.DataFrame:
    """``n`` reports over the texts above, with an empty one, multi-line texts and a repeated id."""
    ids = [str(i) for i in range(n)]
    ids[7] = ids[6]
    return pd.DataFrame(
        {
            "uid": ids,
            "findings": [FINDINGS[i % len(FINDINGS)] for i in range(n)],
            "impression": [IMPRESSIONS[i % len(IMPRESSIONS)] for i in range(n)],
        }
    )


COLUMNS: dict[str, Any] = {"text_columns": ["findings", "impression"], "id_column": "uid"}
CLI_COLUMNS = ("--id-column", "uid", "--text-column", "findings", "--text-column", "impression")


def test_extract_equals_the_local_engine(client: Any) -> None:
    import dask.dataframe as dd

    df = reports()
    result = radminer_dask.extract(dd.from_pandas(df, npartitions=5), **COLUMNS)
    assert list(result.columns) == ["id", "bookmark", "sentence", "labels", "uncertain", "negated", "mentions"]
    computed = result.compute()
    assert computed.dtypes.to_dict() == result.dtypes.to_dict()  # the meta holds
    local = radminer.extract_dataframe(df, **COLUMNS)
    assert len(local) > len(df)  # reports with several bookmarks give several rows
    # Same rows in the same order; bookmark as nullable Int64 in every partition.
    pd.testing.assert_frame_equal(
        computed.reset_index(drop=True), local.astype({"bookmark": "Int64"}), check_dtype=False
    )


def test_extractor_is_built_once_per_worker(client: Any) -> None:
    import dask.dataframe as dd

    before = client.run(radminer_dask.cache_info)
    ddf = dd.from_pandas(reports(), npartitions=8)
    radminer_dask.extract(ddf, bookmark="BOOKMARK|LESION", **COLUMNS).compute()  # a spec no test built yet
    after = client.run(radminer_dask.cache_info)
    builds = {w: after[w]["builds"] - before[w]["builds"] for w in after}
    served = {w: after[w]["partitions"] - before[w]["partitions"] for w in after}
    assert sum(served.values()) == 8
    assert all(builds[w] == (1 if served[w] else 0) for w in after), (builds, served)


def test_workers_garbage_collector_is_left_as_it_was(client: Any) -> None:
    import gc

    import dask.dataframe as dd

    before = client.run(gc.get_freeze_count)
    radminer_dask.extract(dd.from_pandas(reports(), npartitions=4), **COLUMNS).compute()
    served = {w for w, info in client.run(radminer_dask.cache_info).items() if info["builds"]}
    assert served and client.run(gc.get_freeze_count) == before
    assert all(client.run(gc.isenabled).values())


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # the fixture's cluster holds it
def test_local_cluster_runs_without_profiler_and_leaves_the_config(tmp_path: Path) -> None:
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    from radminer.io.writers import JsonlEncoder

    before = dask.config.get("distributed.worker.profile.enabled")
    with radminer_dask.connect(workers=1) as local:
        settings = local.run(lambda: {key: dask.config.get(key) for key in radminer_dask.LOCAL_CLUSTER_CONFIG})
        assert list(settings.values()) == [radminer_dask.LOCAL_CLUSTER_CONFIG]
        source = tmp_path / "reports.csv"
        reports().to_csv(source, index=False)
        ddf = radminer_dask.read_reports(source, **COLUMNS)
        encoded = radminer_dask.encode(ddf, JsonlEncoder(), client=local, **COLUMNS)
        mined = "".join(payload for _, payload in encoded)
    assert dask.config.get("distributed.worker.profile.enabled") == before  # set for the cluster only
    out = tmp_path / "local.jsonl"
    assert run(source, "-o", out, *CLI_COLUMNS).exit_code == 0
    assert mined == out.read_text(encoding="utf-8")


def test_cli_dask_engine_gives_the_local_output(client: Any, tmp_path: Path) -> None:
    source = tmp_path / "reports.csv"
    reports().to_csv(source, index=False)
    address = client.scheduler.address
    for suffix in ("jsonl", "csv", "npz"):
        local, remote = tmp_path / f"local.{suffix}", tmp_path / f"dask.{suffix}"
        assert run(source, "-o", local, *CLI_COLUMNS).exit_code == 0
        result = run(source, "-o", remote, *CLI_COLUMNS, "--engine", "dask", "--scheduler", address, "--partitions", 3)
        assert result.exit_code == 0, result.output
        assert remote.read_bytes() == local.read_bytes(), suffix


def test_cli_dask_engine_reads_and_writes_parquet(client: Any, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    source = tmp_path / "reports.csv"
    reports().to_csv(source, index=False)
    reports().to_parquet(tmp_path / "reports.parquet", row_group_size=10)
    local, remote = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    assert run(source, "-o", local, *CLI_COLUMNS).exit_code == 0
    result = run(tmp_path / "reports.parquet", "-o", remote, *CLI_COLUMNS, "--engine", "dask",
                 "--scheduler", client.scheduler.address)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pq.read_table(remote).equals(pq.read_table(local))


def test_missing_columns_are_listed(client: Any, tmp_path: Path) -> None:
    source = tmp_path / "reports.csv"
    reports().to_csv(source, index=False)
    with pytest.raises(InputError, match=r"has no column 'text' \(columns present: 'uid', 'findings'"):
        radminer_dask.read_reports(source, id_column="uid")
    result = run(source, "--engine", "dask", "--scheduler", client.scheduler.address)
    assert result.exit_code == 1
    assert "has no column 'id'" in result.output


def test_usage_errors() -> None:
    assert run("x.csv", "--scheduler", "tcp://127.0.0.1:1").exit_code == 2
    assert run("x.csv", "--engine", "dask", "--on-error", "skip").exit_code == 2


def test_missing_dask_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("dask", "dask.dataframe", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail
    with pytest.raises(RadminerError, match=r"pip install 'radminer\[dask\]'"):
        radminer_dask.read_reports(tmp_path / "reports.csv")
    source = tmp_path / "reports.csv"
    reports().to_csv(source, index=False)
    result = run(source, *CLI_COLUMNS, "--engine", "dask")
    assert result.exit_code == 1
    assert "pip install 'radminer[dask]'" in result.output


def test_radminer_never_imports_dask() -> None:
    code = (
        "import sys, radminer, radminer.cli, radminer.engines.dask; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
