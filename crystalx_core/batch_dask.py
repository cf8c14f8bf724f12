"""The same batch on a Dask cluster (extra `dask`), for folders that outgrow one machine.
Each worker loads the ONNX sessions on its first structure and keeps them."""
from __future__ import annotations

from typing import Iterator

from crystalx_core.batch import BatchItem, BatchOptions, run_one
from crystalx_core.errors import CrystalXError


def run_on_cluster(address: str, items: list[BatchItem], options: BatchOptions,
                   keys: list[int]) -> Iterator[tuple[int, dict]]:
    """(key, row) as structures finish on the cluster at `address` (or a LocalCluster object)."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise CrystalXError("--scheduler needs Dask: pip install 'crystalx[dask]'") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise CrystalXError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    with client:
        futures = {client.submit(run_one, item, options, pure=False): key for key, item in zip(keys, items)}
        for future in as_completed(futures):
            yield futures[future], future.result()
