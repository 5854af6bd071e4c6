"""Configuration: every LLMLEDGER_* variable read when used, tokens from files, the server's
warning when it listens beyond loopback without a token, tracking URIs checked when set."""

from __future__ import annotations

import httpx
import pytest

from llmledger import config
from llmledger.server.cli import exposure_warning, is_loopback
from llmledger.tracing.export import TraceExporter
from server_process import ServerProcess


def test_tuning_variables_are_read_when_used_not_at_import(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMLEDGER_MAX_PENDING_TRACES", "7")
    assert TraceExporter(f"sqlite:///{tmp_path / 'x.db'}").max_pending == 7
    monkeypatch.setenv("LLMLEDGER_HTTP_TIMEOUT", "2.5")
    from llmledger.store.http import HttpTraceStore

    store = HttpTraceStore("http://127.0.0.1:9")
    assert store.client.timeout.read == 2.5 and store.client.timeout.connect == 2.5
    store.close()
    monkeypatch.setenv("LLMLEDGER_EXIT_FLUSH_TIMEOUT", "0.5")
    assert config.exit_flush_timeout() == 0.5


def test_a_bad_number_names_the_variable_and_never_reaches_user_code(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMLEDGER_MAX_PENDING_TRACES", "lots")
    with pytest.raises(ValueError, match="LLMLEDGER_MAX_PENDING_TRACES='lots' is not a int"):
        config.max_pending_traces()
    exporter = TraceExporter(f"sqlite:///{tmp_path / 'x.db'}")  # logged, default used
    assert exporter.max_pending == config.DEFAULT_MAX_PENDING
    monkeypatch.setenv("LLMLEDGER_HTTP_TIMEOUT", "0")
    with pytest.raises(ValueError, match="LLMLEDGER_HTTP_TIMEOUT='0' must be at least"):
        config.http_timeout()


def test_tracking_token_from_a_file(tmp_path, monkeypatch):
    monkeypatch.delenv("LLMLEDGER_TRACKING_TOKEN", raising=False)
    monkeypatch.delenv("LLMLEDGER_TRACKING_TOKEN_FILE", raising=False)
    assert config.tracking_token() is None
    token_file = tmp_path / "token"
    token_file.write_text("  s3cret\n")
    monkeypatch.setenv("LLMLEDGER_TRACKING_TOKEN_FILE", str(token_file))
    assert config.tracking_token() == "s3cret"
    monkeypatch.setenv("LLMLEDGER_TRACKING_TOKEN", "from-env")  # the variable wins
    assert config.tracking_token() == "from-env"
    monkeypatch.delenv("LLMLEDGER_TRACKING_TOKEN")
    token_file.write_text("\n")
    with pytest.raises(ValueError, match=r"LLMLEDGER_TRACKING_TOKEN_FILE: the token file .* empty"):
        config.tracking_token()
    monkeypatch.setenv("LLMLEDGER_TRACKING_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="cannot read the token file"):
        config.tracking_token()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("myhost.example", False),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback
    warning = exposure_warning(host, None)
    assert (warning is None) is loopback
    assert exposure_warning(host, "token") is None


def test_the_server_warns_when_it_listens_beyond_loopback_without_a_token(tmp_path):
    log = tmp_path / "server.log"
    srv = ServerProcess(f"sqlite:///{tmp_path / 's.db'}", None, "--host", "0.0.0.0", log=log)
    srv.start()
    srv.stop()
    text = log.read_text()
    assert "listening on 0.0.0.0, reachable from other machines, without an auth token" in text
    log.write_text("")
    srv = ServerProcess(f"sqlite:///{tmp_path / 's.db'}", None, log=log).start()  # loopback
    srv.stop()
    assert "without an auth token" not in log.read_text()


@pytest.mark.parametrize("how", ["--auth-token-file", "LLMLEDGER_AUTH_TOKEN_FILE"])
def test_the_server_reads_its_token_from_a_file(how, tmp_path, monkeypatch):
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    monkeypatch.delenv("LLMLEDGER_AUTH_TOKEN", raising=False)
    extra: tuple[str, ...] = ()
    if how == "--auth-token-file":
        extra = ("--auth-token-file", str(token_file))
    else:
        monkeypatch.setenv("LLMLEDGER_AUTH_TOKEN_FILE", str(token_file))
    log = tmp_path / "server.log"
    srv = ServerProcess(
        f"sqlite:///{tmp_path / 's.db'}", None, "--host", "0.0.0.0", *extra, log=log
    )
    srv.start()
    try:
        assert httpx.get(f"{srv.url}/api/experiments").status_code == 401
        ok = httpx.get(f"{srv.url}/api/experiments", headers={"Authorization": "Bearer file-token"})
        assert ok.status_code == 200
        assert srv.proc is not None and "file-token" not in " ".join(srv.proc.args)
    finally:
        srv.stop()
    assert "without an auth token" not in log.read_text()


def test_an_unreadable_server_token_file_is_a_one_line_error(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "llmledger.cli", "server", "--auth-token-file", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("llmledger: --auth-token-file: cannot read the token file")
    assert "Traceback" not in result.stderr


# -- tracking URIs checked when set --------------------------------------------------------
@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("sqlite://tmp/x.db", "has two slashes; SQLite URIs have three.*'sqlite:///tmp/x.db'"),
        ("sqlite://", "has two slashes"),
        ("127.0.0.1:5000", "looks like a server address without a scheme: write 'http://127"),
        ("localhost:5000", "write 'http://localhost:5000'"),
        ("[::1]:5000/", "write 'http://\\[::1\\]:5000/'"),
        ("http://", "has no host: write http://host:port"),
        ("https://:5000", "has no host"),
        ("http:///traces", "has no host"),
    ],
)
def test_a_tracking_uri_that_cannot_be_meant_is_refused_when_set(uri, message, tmp_path):
    import llmledger

    before = llmledger.get_tracking_uri()
    with pytest.raises(ValueError, match=message):
        llmledger.set_tracking_uri(uri)
    assert llmledger.get_tracking_uri() == before
    assert not (tmp_path / "5000").exists()


def test_the_tracking_uri_variable_is_checked_the_same_way(monkeypatch):
    monkeypatch.setenv("LLMLEDGER_TRACKING_URI", "localhost:5000")
    previous = config.set_tracking_uri_value(None)  # the next use reads the variable
    try:
        with pytest.raises(ValueError, match="write 'http://localhost:5000'"):
            config.get_tracking_uri()
    finally:
        config.set_tracking_uri_value(previous)


@pytest.mark.parametrize("path", ["traces.db", "./x/y.db", "runs/a:b.db"])
def test_bare_paths_still_mean_sqlite_files(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config.normalize_uri(path) == f"sqlite:///{(tmp_path / path).resolve()}"


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:////abs/x.db",
        "sqlite:///:memory:",
        "http://127.0.0.1:5000",
        "https://ledger.example.com",
        "postgresql://user@host/db",
        "postgresql:///db",
    ],
)
def test_good_uris_are_kept(uri):
    assert config.normalize_uri(uri) == uri


def test_the_server_takes_its_limits_from_the_variables(tmp_path, monkeypatch):
    """LLMLEDGER_MAX_BODY_BYTES was overwritten by the option's default; now the option
    wins only when given."""
    monkeypatch.setenv("LLMLEDGER_MAX_BODY_BYTES", "2000")
    srv = ServerProcess(f"sqlite:///{tmp_path / 's.db'}", None).start()
    try:
        body = {"name": "x" * 3000}
        assert httpx.post(f"{srv.url}/api/experiments", json=body).status_code == 413
    finally:
        srv.stop()


def test_every_variable_in_the_code_is_named_in_config_and_documented():
    """One place names the variables (config.py) and docs/configuration.md lists them all."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(r"LLMLEDGER_[A-Z0-9_]+")
    named = set(pattern.findall((root / "src/llmledger/config.py").read_text()))
    used = {
        name
        for path in (root / "src/llmledger").rglob("*.py")
        for name in pattern.findall(path.read_text())
    }
    documented = set(pattern.findall((root / "docs/configuration.md").read_text()))
    assert used <= named, f"not named in config.py: {sorted(used - named)}"
    assert named <= documented, f"not in docs/configuration.md: {sorted(named - documented)}"
    assert "LLMLEDGER_EXPERIMENT_NAME" not in named  # never read: removed
