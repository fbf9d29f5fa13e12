"""End to end with real Opacus and torch: train, calibrate, checkpoint, resume, carry over an
Opacus accountant's history, and read Opacus files with ``dp-accountant epsilon --state``.

A tiny model (Linear 5 → 2 on 64 random examples, batches of 16, so q = 1/4 and 4 steps per
epoch) keeps the whole file to a few seconds.
"""
import json
import warnings

import pytest

torch = pytest.importorskip("torch")
opacus = pytest.importorskip("opacus")

from torch import nn                                                    # noqa: E402
from torch.utils.data import DataLoader, TensorDataset                 # noqa: E402

import accountant as acc                                                # noqa: E402
from accountant import cli  # noqa: E402
from accountant.interop.opacus import (OpacusAccountant,              # noqa: E402
                                        PLDOpacusAccountant, register)
from accountant.core.mechanisms import SubsampledGaussian                   # noqa: E402
from accountant.session.trainer import PrivacyAccountant                       # noqa: E402

N, BATCH, DELTA = 64, 16, 1e-5
Q = BATCH / N                   # Opacus: sample_rate = 1 / len(data_loader)


@pytest.fixture(autouse=True)
def _quiet():
    # Opacus warns about its non-secure RNG and torch about backward hooks; not ours.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"(opacus|torch)\b.*")
        warnings.filterwarnings("ignore", message=r"(Secure RNG|Full backward hook|Optimal order)")
        yield


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, 5, generator=g)
    y = (x[:, 0] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=BATCH)


def _model(seed=0):
    torch.manual_seed(seed)
    model = nn.Linear(5, 2)
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def _train(model, optimizer, loader, epochs):
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            optimizer.step()


def _pld_eps(sigma, steps, delta=DELTA):
    return acc.epsilon(SubsampledGaussian(sigma, Q), delta, steps=steps, method="pld")


def _cli(capsys, *args):
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_calibrate_checkpoint_resume(tmp_path, capsys):
    assert register() == register()                      # idempotent
    from opacus import PrivacyEngine
    from opacus.accountants.utils import get_noise_multiplier
    target, epochs = 2.0, 3

    engine = PrivacyEngine(accountant="dpacc_pld")
    assert isinstance(engine.accountant, PLDOpacusAccountant)
    model, optimizer = _model()
    model, optimizer, loader = engine.make_private_with_epsilon(
        module=model, optimizer=optimizer, data_loader=_data(), target_epsilon=target,
        target_delta=DELTA, epochs=epochs, max_grad_norm=1.0)
    sigma = optimizer.noise_multiplier
    steps = epochs * len(loader)
    assert len(loader) == N // BATCH and steps == 12

    # Opacus's binary search (ε tolerance 0.01) over our certified ε lands just above the
    # σ of our own calibration (certified ε ≤ target, σ within 0.1 % of optimal) …
    cal = acc.calibrate(target_epsilon=target, delta=DELTA, sample_rate=Q, steps=steps)
    assert cal.noise_multiplier * (1 - 1e-3) <= sigma <= cal.noise_multiplier * 1.02
    # … and below the σ that Opacus's own RDP accountant needs for the same target.
    sigma_rdp = get_noise_multiplier(target_epsilon=target, target_delta=DELTA,
                                     sample_rate=Q, epochs=epochs, accountant="rdp")
    assert sigma < sigma_rdp * 0.97

    _train(model, optimizer, loader, epochs)
    assert engine.accountant.history == [(sigma, Q, steps)]
    r = engine.accountant.get_epsilon_result(DELTA)
    assert r.certified and r.method == "pld"
    assert r.lower <= r.upper <= target
    assert engine.get_epsilon(DELTA) == r.upper == _pld_eps(sigma, steps).upper
    assert target - r.upper <= 0.011                     # the search tolerance, not slack
    eps_spent, order = engine.accountant.get_privacy_spent(delta=DELTA)
    assert (eps_spent, order) == (r.upper, None)

    # Checkpoint, then resume in a fresh engine / model / optimizer.
    ckpt = tmp_path / "ckpt.pt"
    engine.save_checkpoint(path=ckpt, module=model, optimizer=optimizer)
    engine2 = PrivacyEngine(accountant="dpacc_pld")
    model2, optimizer2 = _model(seed=1)
    model2, optimizer2, loader2 = engine2.make_private(
        module=model2, optimizer=optimizer2, data_loader=_data(), noise_multiplier=sigma,
        max_grad_norm=1.0)
    assert len(engine2.accountant) == 0
    engine2.load_checkpoint(path=ckpt, module=model2, optimizer=optimizer2)
    assert engine2.accountant.history == [(sigma, Q, steps)]
    assert engine2.get_epsilon(DELTA) == r.upper
    for p1, p2 in zip(model.parameters(), model2.parameters()):
        assert torch.equal(p1, p2)
    _train(model2, optimizer2, loader2, 1)               # ε continues from the checkpoint
    assert engine2.accountant.history == [(sigma, Q, steps + 4)]
    eps_more = engine2.get_epsilon(DELTA)
    assert eps_more > r.upper and eps_more == _pld_eps(sigma, steps + 4).upper

    # The CLI reads the checkpoint (torch, weights_only) and agrees with the engine.
    code, out, err = _cli(capsys, "epsilon", "--state", str(ckpt), "--delta", str(DELTA),
                          "--json")
    assert code == 0 and err == ""
    got = json.loads(out)
    assert got["method"] == "pld" and got["certified"] is True
    assert got["upper"] == r.upper and got["lower"] == r.lower


def test_opacus_rdp_history_carried_over(tmp_path, capsys):
    register()
    from opacus import PrivacyEngine
    engine = PrivacyEngine(accountant="rdp")
    model, optimizer = _model()
    model, optimizer, loader = engine.make_private(
        module=model, optimizer=optimizer, data_loader=_data(), noise_multiplier=1.0,
        max_grad_norm=1.0)
    _train(model, optimizer, loader, 2)
    optimizer.noise_multiplier = 1.3                   # a second segment, as a scheduler would
    _train(model, optimizer, loader, 1)
    theirs = engine.accountant
    assert theirs.history == [(1.0, Q, 8), (1.3, Q, 4)]
    eps_rdp, _ = theirs.get_privacy_spent(delta=DELTA)

    ours = PLDOpacusAccountant()
    ours.load_state_dict(theirs.state_dict())
    assert ours.history == theirs.history and len(ours) == 12
    r = ours.get_epsilon_result(DELTA)
    ref = acc.epsilon(acc.Schedule(((SubsampledGaussian(1.0, Q), 8),
                                    (SubsampledGaussian(1.3, Q), 4))), DELTA, method="pld")
    assert r.upper == pytest.approx(ref.upper, rel=1e-12)
    assert r.certified and r.lower <= r.upper < eps_rdp   # tighter than Opacus's RDP bound
    assert OpacusAccountant.from_opacus(theirs).history == theirs.history

    # Files: torch.save of the state_dict (zip and legacy formats) and a checkpoint.
    sd_file, legacy, ckpt = tmp_path / "acct.pt", tmp_path / "legacy.pt", tmp_path / "ck.pt"
    torch.save(theirs.state_dict(), sd_file)
    torch.save(theirs.state_dict(), legacy, _use_new_zipfile_serialization=False)
    engine.save_checkpoint(path=ckpt, module=model, optimizer=optimizer)
    for path in (sd_file, legacy, ckpt):
        assert PLDOpacusAccountant.from_opacus(path).history == theirs.history
        loaded = PrivacyAccountant.load(path)
        assert loaded.method == "pld" and len(loaded) == 12
        assert loaded.get_epsilon(DELTA).upper == pytest.approx(r.upper, rel=1e-12)
        code, out, err = _cli(capsys, "epsilon", "--state", str(path), "--delta", str(DELTA),
                              "--json")
        assert code == 0 and err == "" and json.loads(out)["upper"] == pytest.approx(r.upper,
                                                                                     rel=1e-12)
    code, out, _ = _cli(capsys, "epsilon", "--state", str(sd_file), "--delta", str(DELTA))
    assert code == 0 and "pld" in out and "certified" in out and f"{r.upper:.6g}" in out
    code, out, _ = _cli(capsys, "epsilon", "--state", str(sd_file), "--delta", str(DELTA),
                        "--method", "rdp", "--json")
    assert code == 0 and json.loads(out)["method"] == "rdp"
    assert json.loads(out)["upper"] <= eps_rdp * (1 + 1e-9)   # continuous orders: not worse

    # Migration: an "rdp" checkpoint resumes in a "dpacc_pld" engine with its history.
    engine2 = PrivacyEngine(accountant="dpacc_pld")
    model2, optimizer2 = _model(seed=1)
    model2, optimizer2, _ = engine2.make_private(
        module=model2, optimizer=optimizer2, data_loader=_data(), noise_multiplier=1.3,
        max_grad_norm=1.0)
    engine2.load_checkpoint(path=ckpt, module=model2, optimizer=optimizer2)
    assert engine2.accountant.history == theirs.history
    assert engine2.get_epsilon(DELTA) == pytest.approx(r.upper, rel=1e-12)

    # Our own JSON state still goes through the same command.
    own = tmp_path / "ours.json"
    ours.accountant.save(own)
    code, out, _ = _cli(capsys, "epsilon", "--state", str(own), "--delta", str(DELTA), "--json")
    assert code == 0 and json.loads(out)["upper"] == r.upper


class _Opaque:
    pass


def test_bad_torch_state_files_are_refused_in_one_line(tmp_path, capsys):
    good = tmp_path / "good.pt"
    torch.save({"history": [(1.0, Q, 4)], "mechanism": "prv"}, good)
    raw = good.read_bytes()
    cases = []

    def case(name, match, obj=None, content=None):
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        else:
            torch.save(obj, path)
        cases.append((path, match))

    case("truncated.pt", "not a readable PyTorch file", content=raw[: len(raw) // 2])
    case("model.pt", "does not have the key `history`", obj=nn.Linear(2, 2).state_dict())
    case("tensor.pt", "must be a dict", obj=torch.zeros(3))
    case("object.pt", r"refuses.*weights_only|weights_only.*refuses", obj={"x": _Opaque()})
    case("bad_q.pt", r"history\[0\] sample_rate must be in \[0, 1\], got 1.5",
         obj={"history": [(1.0, 1.5, 4)], "mechanism": "rdp"})
    case("tensor_sigma.pt", r"history\[0\] noise_multiplier must be a real number",
         obj={"history": [(torch.tensor(1.0), Q, 4)], "mechanism": "rdp"})
    case("bad_steps.pt", r"history\[1\] steps must be an integer >= 1 and <= \d+, got 0",
         obj={"history": [(1.0, Q, 4), (1.0, Q, 0)], "mechanism": "rdp"})
    case("foreign.pt", r"mechanism 'moments' cannot be loaded",
         obj={"history": [(1.0, Q, 4)], "mechanism": "moments"})
    case("bad_ckpt.pt", r"privacy_accountant_state_dict.*empty",
         obj={"module_state_dict": {}, "privacy_accountant_state_dict": {}})
    case("binary.bin", "neither a dp-accountant JSON state nor a PyTorch file",
         content=bytes(range(128, 256)) * 4)
    for path, match in cases:
        with pytest.raises(ValueError, match=match):
            PrivacyAccountant.load(path)
        code, out, err = _cli(capsys, "epsilon", "--state", str(path), "--delta", "1e-5")
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert err.startswith("dp-accountant: error: state file")
    # An empty history (a fresh Opacus accountant) is valid: nothing spent yet.
    empty = tmp_path / "empty.pt"
    torch.save({"history": [], "mechanism": "rdp"}, empty)
    assert PrivacyAccountant.load(empty).get_epsilon(DELTA).upper == 0.0
