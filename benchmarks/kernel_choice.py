"""numba or a torch C++ extension for the fused descriptor/force kernel: the measurement behind
the choice (docs/decisions.md).

The C++ prototype is the same algorithm as ``alearn/descriptors/kernel_numba.py`` (per centre:
basis terms vectorised over pairs/triplets, members innermost), written with ``__restrict__``
pointers and compiled by ``torch.utils.cpp_extension.load_inline`` (-O3 -march=native).  Both
are timed on the same inputs (192-atom water box, Rc 6.5/4.0 Å, orders 18/4, K = 1 and 8), and
the start-up of each is measured in fresh processes: first start (empty cache / build folder)
and second start (cached).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/kernel_choice.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CPP = r"""
#include <torch/extension.h>
#include <cmath>
#include <vector>
#include <algorithm>

static inline void cutoff(double r, double rc, double& f, double& df) {
    double c = std::cos(M_PI * r / rc);
    f = 0.5 * (c + 1.0);
    df = -0.5 * (M_PI / rc) * std::sqrt(std::max(0.0, 1.0 - c * c));
}

// forces (N, 3, K) and virial (B, 3, 3, K) from cot (N, F, K); same algorithm as kernel_numba.forces
void forces(torch::Tensor vec_t, torch::Tensor r_t, torch::Tensor starts_t, torch::Tensor j_t,
            torch::Tensor batch_t, torch::Tensor species_t, torch::Tensor spins_t, double rc,
            double rca, int64_t nr, int64_t na, bool weighted, torch::Tensor cot_t,
            torch::Tensor out_t, torch::Tensor virial_t) {
    const double* __restrict__ vec = vec_t.data_ptr<double>();
    const double* __restrict__ r = r_t.data_ptr<double>();
    const int64_t* __restrict__ starts = starts_t.data_ptr<int64_t>();
    const int64_t* __restrict__ jj = j_t.data_ptr<int64_t>();
    const int64_t* __restrict__ pb = batch_t.data_ptr<int64_t>();
    const int64_t* __restrict__ species = species_t.data_ptr<int64_t>();
    const double* __restrict__ spins = spins_t.data_ptr<double>();
    const double* __restrict__ cot = cot_t.data_ptr<double>();
    double* __restrict__ out = out_t.data_ptr<double>();
    double* __restrict__ virial = virial_t.data_ptr<double>();
    const int64_t n_atoms = starts_t.size(0) - 1, F = cot_t.size(1), K = cot_t.size(2);
    const int64_t n_s = weighted ? spins_t.size(0) : 1, block = nr + na;
    const bool with_virial = virial_t.size(0) > 0;
    int64_t width = 2, n_ang = 2;
    for (int64_t c = 0; c < n_atoms; ++c) {
        width = std::max(width, starts[c + 1] - starts[c]);
        int64_t n = 0;
        for (int64_t p = starts[c]; p < starts[c + 1]; ++p) n += r[p] < rca;
        n_ang = std::max(n_ang, n);
    }
    std::vector<int64_t> tu, tv;
    for (int64_t v = 1; v < n_ang; ++v) for (int64_t u = 0; u < v; ++u) { tu.push_back(u); tv.push_back(v); }
    const int64_t size = std::max<int64_t>(width, tu.size()), nb = std::max<int64_t>({nr, na, 2});
    std::vector<double> x(size), fc(size), dfc(size), w(size), unit(3 * width), inv(width);
    std::vector<double> values(nb * size), slopes(nb * size), geo(12 * size);
    std::vector<int64_t> kind(width), offset(width), row(size);
    std::vector<double> rad(n_s * nr * K), ang(n_s * n_s * std::max<int64_t>(na, 1) * K);
    std::vector<double> local(width * 3 * K), acc(K), gc(K), gt(K);
    for (int64_t c = 0; c < n_atoms; ++c) {
        const int64_t s0 = starts[c], np_ = starts[c + 1] - s0;
        std::fill(local.begin(), local.begin() + np_ * 3 * K, 0.0);
        const double* cc = cot + c * F * K;
        for (int64_t s = 0; s < n_s; ++s)
            for (int64_t a = 0; a < nr; ++a)
                for (int64_t k = 0; k < K; ++k)
                    rad[(s * nr + a) * K + k] = cc[a * K + k] + (weighted ? spins[s] * cc[(block + a) * K + k] : 0.0);
        int64_t n = 0;
        for (int64_t p = s0; p < s0 + np_; ++p) if (r[p] < rc) {
            x[n] = 2.0 * r[p] / rc - 1.0; cutoff(r[p], rc, fc[n], dfc[n]);
            kind[n] = species[jj[p]]; offset[n] = p - s0; ++n;
        }
        double* __restrict__ T = values.data(); double* __restrict__ D = slopes.data();
        for (int64_t q = 0; q < n; ++q) { T[q] = 1.0; D[q] = 0.0; T[size + q] = x[q]; D[size + q] = 1.0; }
        for (int64_t a = 2; a < nr; ++a)
            for (int64_t q = 0; q < n; ++q) {
                T[a * size + q] = 2.0 * x[q] * T[(a - 1) * size + q] - T[(a - 2) * size + q];
                D[a * size + q] = 2.0 * T[(a - 1) * size + q] + 2.0 * x[q] * D[(a - 1) * size + q] - D[(a - 2) * size + q];
            }
        for (int64_t a = 0; a < nr; ++a)
            for (int64_t q = 0; q < n; ++q)
                D[a * size + q] = D[a * size + q] * (2.0 / rc) * fc[q] + T[a * size + q] * dfc[q];
        for (int64_t q = 0; q < n; ++q) {
            const double* __restrict__ cs = rad.data() + (weighted ? kind[q] : 0) * nr * K;
            double* __restrict__ ac = acc.data();
            for (int64_t k = 0; k < K; ++k) ac[k] = 0.0;
            for (int64_t a = 0; a < nr; ++a) {
                const double d = D[a * size + q];
                for (int64_t k = 0; k < K; ++k) ac[k] += cs[a * K + k] * d;
            }
            const int64_t p = s0 + offset[q];
            double* __restrict__ lo = local.data() + offset[q] * 3 * K;
            for (int64_t e = 0; e < 3; ++e) {
                const double u = vec[3 * p + e] / r[p];
                for (int64_t k = 0; k < K; ++k) lo[e * K + k] = ac[k] * u;
            }
        }
        if (na > 0) {
            for (int64_t s = 0; s < n_s * n_s; ++s)
                for (int64_t a = 0; a < na; ++a)
                    for (int64_t k = 0; k < K; ++k)
                        ang[(s * na + a) * K + k] = cc[(nr + a) * K + k]
                            + (weighted ? spins[s / n_s] * spins[s % n_s] * cc[(block + nr + a) * K + k] : 0.0);
            n = 0;
            for (int64_t p = s0; p < s0 + np_; ++p) if (r[p] < rca) {
                inv[n] = 1.0 / r[p];
                for (int e = 0; e < 3; ++e) unit[e * width + n] = vec[3 * p + e] / r[p];
                cutoff(r[p], rca, fc[n], dfc[n]); kind[n] = species[jj[p]]; offset[n] = p - s0; ++n;
            }
            const int64_t m = n * (n - 1) / 2;
            for (int64_t t = 0; t < m; ++t) {
                const int64_t u = tu[t], v = tv[t];
                double val = unit[u] * unit[v] + unit[width + u] * unit[width + v] + unit[2 * width + u] * unit[2 * width + v];
                x[t] = std::min(1.0, std::max(-1.0, val)); w[t] = fc[u] * fc[v]; row[t] = kind[u] * n_s + kind[v];
                for (int e = 0; e < 3; ++e) {
                    geo[e * size + t] = w[t] * (unit[e * width + v] - x[t] * unit[e * width + u]) * inv[u];
                    geo[(3 + e) * size + t] = dfc[u] * fc[v] * unit[e * width + u];
                    geo[(6 + e) * size + t] = w[t] * (unit[e * width + u] - x[t] * unit[e * width + v]) * inv[v];
                    geo[(9 + e) * size + t] = fc[u] * dfc[v] * unit[e * width + v];
                }
            }
            for (int64_t t = 0; t < m; ++t) { T[t] = 1.0; D[t] = 0.0; T[size + t] = x[t]; D[size + t] = 1.0; }
            for (int64_t a = 2; a < na; ++a)
                for (int64_t t = 0; t < m; ++t) {
                    T[a * size + t] = 2.0 * x[t] * T[(a - 1) * size + t] - T[(a - 2) * size + t];
                    D[a * size + t] = 2.0 * T[(a - 1) * size + t] + 2.0 * x[t] * D[(a - 1) * size + t] - D[(a - 2) * size + t];
                }
            double* __restrict__ g1 = gc.data(); double* __restrict__ g2 = gt.data();
            for (int64_t t = 0; t < m; ++t) {
                const double* __restrict__ cs = ang.data() + (weighted ? row[t] : 0) * na * K;
                for (int64_t k = 0; k < K; ++k) { g1[k] = 0.0; g2[k] = 0.0; }
                for (int64_t a = 0; a < na; ++a) {
                    const double d = D[a * size + t], tt = T[a * size + t];
                    for (int64_t k = 0; k < K; ++k) { g1[k] += cs[a * K + k] * d; g2[k] += cs[a * K + k] * tt; }
                }
                double* __restrict__ lu = local.data() + offset[tu[t]] * 3 * K;
                double* __restrict__ lv = local.data() + offset[tv[t]] * 3 * K;
                for (int e = 0; e < 3; ++e) {
                    const double a0 = geo[e * size + t], a1 = geo[(3 + e) * size + t];
                    const double b0 = geo[(6 + e) * size + t], b1 = geo[(9 + e) * size + t];
                    for (int64_t k = 0; k < K; ++k) lu[e * K + k] += g1[k] * a0 + g2[k] * a1;
                    for (int64_t k = 0; k < K; ++k) lv[e * K + k] += g1[k] * b0 + g2[k] * b1;
                }
            }
        }
        const double cut = std::max(rc, na > 0 ? rca : 0.0);
        for (int64_t p = s0; p < s0 + np_; ++p) {
            if (r[p] >= cut) continue;
            const double* __restrict__ lo = local.data() + (p - s0) * 3 * K;
            double* __restrict__ oc = out + c * 3 * K;
            double* __restrict__ on = out + jj[p] * 3 * K;
            for (int64_t e = 0; e < 3 * K; ++e) { oc[e] += lo[e]; on[e] -= lo[e]; }
            if (with_virial) {
                double* __restrict__ vb = virial + pb[p] * 9 * K;
                for (int x_ = 0; x_ < 3; ++x_) for (int y = 0; y < 3; ++y)
                    for (int64_t k = 0; k < K; ++k) vb[(x_ * 3 + y) * K + k] += vec[3 * p + x_] * lo[y * K + k];
            }
        }
    }
}
"""


def _inputs(members: int):
    import numpy as np
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from ann_md_throughput import make_committee
    from ann_systems import water_box

    from alearn.descriptors import fused

    atoms = water_box()
    committee = make_committee(atoms, members)
    graph = committee.graph([atoms])
    fz = fused.fused_descriptor(committee.spec, graph, torch.as_tensor(atoms.positions))
    rng = np.random.default_rng(0)
    cot = rng.normal(size=(len(atoms), committee.spec.n_features, members))
    args = fz._args()
    return args[:4] + (fz.geometry.pair_batch,) + args[4:], cot, len(atoms)


def _best_ms(fn, repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def _cpp_module(build: Path):
    from torch.utils.cpp_extension import load_inline

    build.mkdir(parents=True, exist_ok=True)
    return load_inline("alearn_kernel_proto", CPP, functions=["forces"], build_directory=str(build),
                       extra_cflags=["-O3", "-march=native", "-ffp-contract=fast"], verbose=False)


def start_up(which: str, cache: str) -> dict:
    """Seconds from a bare interpreter to a usable kernel (run in a fresh process)."""
    start = time.perf_counter()
    if which == "numba":
        os.environ["NUMBA_CACHE_DIR"] = cache
        from alearn.descriptors import fused

        assert fused.kernel() is not None
    else:
        _cpp_module(Path(cache))
    return {"which": which, "seconds": time.perf_counter() - start}


def timings(repeat: int, build: Path) -> list[dict]:
    import numpy as np
    import torch

    from alearn.descriptors import kernel_numba

    torch.set_num_threads(1)
    cpp = _cpp_module(build)
    rows = []
    for members in (1, 8):
        args, cot, n = _inputs(members)
        t_args = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
        for virial in (0, 1):
            out_n, vir_n = np.zeros((n, 3, members)), np.zeros((virial, 3, 3, members))
            out_c, vir_c = torch.zeros(n, 3, members, dtype=torch.float64), torch.zeros(virial, 3, 3, members, dtype=torch.float64)
            cot_t = torch.from_numpy(cot)
            numba_ms = _best_ms(lambda: kernel_numba.forces(*args, cot, out_n, vir_n), repeat)
            cpp_ms = _best_ms(lambda: cpp.forces(*t_args, cot_t, out_c, vir_c), repeat)
            out_n[:], out_c[:] = 0.0, 0.0
            kernel_numba.forces(*args, cot, out_n, vir_n)
            cpp.forces(*t_args, cot_t, out_c, vir_c)
            diff = float(np.abs(out_n - out_c.numpy()).max() / np.abs(out_n).max())
            rows.append({"members": members, "virial": bool(virial), "numba_ms": numba_ms,
                         "cpp_ms": cpp_ms, "max_rel_difference": diff})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--start-up", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.start_up:
        print(json.dumps(start_up(*args.start_up)))
        return
    print("load average:", os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        for which in ("numba", "cpp"):
            cache = str(Path(tmp) / which)
            for attempt in ("first", "second"):
                out = subprocess.run([sys.executable, __file__, "--start-up", which, cache],
                                     capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                print(json.dumps({**row, "start": attempt}), flush=True)
        timings(args.repeat, Path(tmp) / "cpp")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
