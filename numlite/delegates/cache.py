"""A disk cache of compiled partitions, keyed by the model's content.

A delegate whose compilation costs more than the interpreter's whole load (the ONNX Runtime
delegate: building the ONNX graph, then ONNX Runtime's graph optimizations) keeps what it
compiled - one file per partition (and companions: ONNX Runtime's weights file) plus a small
JSON entry with the partition's boundary (feed names, output shapes and dtypes) - so that the
next interpreter of the same model skips both numlite's shape inference and the compilation.

Key (``PartitionCache.key``): SHA-256 over

- the model file's content (``model_digest``: the SHA-256 of its bytes; for a model read from a
  file, remembered under ``digests/`` by the file's path, size, modification time in
  nanoseconds, inode and device as they were when numlite read it (``Model.source_stamp``: none
  where the file changed during the read), so that an unchanged file is not hashed again; a file
  changed after loading does not lend the loaded bytes' digest to its new stamp; a file
  rewritten in place keeping all of these would be taken for the old one),
- the partition: subgraph index, the original node indices, and the shape and dtype of each
  boundary input,
- the delegate's ``config`` (for ONNX Runtime: its version, providers, session options,
  optimization level), numlite's version, the cache's format, and the machine (``platform``,
  the CPU's feature flags: an optimized graph may use instructions of this CPU).

Entries are written atomically (a temporary name, then ``os.replace``; companions carry a unique
name the compiled file refers to); a damaged entry is rebuilt.  Every file of an entry starts
with its key.  When the directory outgrows ``max_bytes`` the least recently used entries go.
Nothing in the cache is executable code: it holds ONNX graphs and JSON.  Errors writing it
(a read-only directory, a full disk) are ignored: the cache only saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import uuid
from typing import Any

import numpy as np

FORMAT = 1
#: default size limit of a cache directory
MAX_BYTES = 2 << 30



def default_dir(delegate_name: str) -> str:
    """``$NUMLITE_CACHE_DIR/<delegate>``, else ``$XDG_CACHE_HOME/numlite/<delegate>``, else
    ``~/.cache/numlite/<delegate>``."""
    base = os.environ.get("NUMLITE_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "numlite")
    return os.path.join(base, delegate_name)


_MACHINE: str | None = None


def machine() -> str:
    """The platform and the CPU: its model and feature flags from ``/proc/cpuinfo`` where there
    is one, else ``platform.processor()`` (once per process)."""
    global _MACHINE
    if _MACHINE is None:
        cpu: list[str] = []
        with contextlib.suppress(OSError):
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith(("model name", "flags", "Features", "CPU part", "CPU implementer")):
                        cpu.append(line.split(":", 1)[1].strip())
                    elif not line.strip() and cpu:
                        break  # the first processor's block is enough
        _MACHINE = f"{platform.system()} {platform.machine()} {' | '.join(cpu) or platform.processor()}"
    return _MACHINE


class PartitionCache:
    def __init__(self, directory: str, config: str, max_bytes: int = MAX_BYTES, suffix: str = ".bin"):
        self.dir = os.path.abspath(os.path.expanduser(directory))
        self.config = config
        self.max_bytes = int(max_bytes)
        self.suffix = suffix

    # -- keys ---------------------------------------------------------------------------------
    def model_digest(self, runtime: Any) -> str | None:
        """The SHA-256 of the model's bytes (once per interpreter), or None where numlite has
        no buffer to hash.  For a model read from a file, remembered under the stamp the file had
        when it was read (``Model.source_stamp``), never under what the path holds later."""
        digest = getattr(runtime, "_cache_digest", None)
        if digest is not None:
            return digest
        stamp = getattr(runtime.model, "source_stamp", None)
        digest = self._remembered(stamp) if stamp else None
        if digest is None:
            source = runtime.model.source
            if source is None:
                return None
            digest = hashlib.sha256(source).hexdigest()
            if stamp:
                self._remember(stamp, digest)
        runtime._cache_digest = digest
        return digest

    def _digest_path(self, stamp: str) -> str:
        real = stamp.partition("\n")[0]
        name = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return os.path.join(self.dir, "digests", name)

    def _remembered(self, stamp: str) -> str | None:
        try:
            with open(self._digest_path(stamp)) as f:
                kept, _, digest = f.read().rpartition("\n")
        except (OSError, UnicodeDecodeError):
            return None
        return digest if kept == stamp and len(digest) == 64 else None

    def _remember(self, stamp: str, digest: str) -> None:
        self._write(self._digest_path(stamp), f"{stamp}\n{digest}".encode())

    def key(self, kernel: Any, ctx: Any) -> str | None:
        """The entry's name for partition ``kernel`` with the input shapes ``ctx`` gives (None:
        the model has no digest)."""
        digest = self.model_digest(ctx.runtime)
        if digest is None:
            return None
        from .. import __version__

        boundary = [None if s is None else (list(s.shape), None if s.dtype is None else np.dtype(s.dtype).str)
                    for s in ctx.inputs]
        parts = [FORMAT, __version__, machine(), self.config, digest, kernel.subgraph.index,
                 [n.index for n in kernel.nodes], boundary]
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()

    # -- entries ------------------------------------------------------------------------------
    def load(self, key: str) -> tuple[dict[str, Any], str] | None:
        """(the entry's JSON, the path of its compiled file), or None."""
        meta_path, data_path = self._paths(key)
        try:
            with open(meta_path) as f:
                meta = json.load(f)
            os.utime(data_path)  # recently used: evicted last
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            return None
        return meta, data_path

    def start(self, key: str) -> str | None:
        """A temporary path ``<key>.<unique>.tmp`` for the compiled file of ``key`` (None: the
        directory cannot be made); companions may be named ``<key>.<unique>.<anything>``."""
        try:
            os.makedirs(self.dir, exist_ok=True)
        except OSError:
            return None
        return os.path.join(self.dir, f"{key}.{uuid.uuid4().hex}.tmp")

    def finish(self, key: str, tmp: str, meta: dict[str, Any]) -> None:
        """Publish the compiled file written to ``tmp`` and its entry ``meta``; files of an
        earlier entry of ``key`` (companions of another ``start``) are removed."""
        meta_path, data_path = self._paths(key)
        mine = os.path.basename(tmp)[: -len(".tmp")]
        try:
            if not os.path.exists(tmp):
                return
            os.replace(tmp, data_path)
        except OSError:
            self._remove(key, keep=())
            return
        self._write(meta_path, json.dumps({"format": FORMAT, **meta}).encode())
        self._remove(key, keep=(mine, os.path.basename(meta_path), os.path.basename(data_path)))
        self._evict()

    def _remove(self, key: str, keep: tuple[str, ...]) -> None:
        """Delete the files of ``key``'s entries but those named or prefixed by ``keep``."""
        with contextlib.suppress(OSError):
            for e in os.scandir(self.dir):
                if e.name.startswith(key + ".") and not any(e.name == k or e.name.startswith(k + ".") for k in keep):
                    with contextlib.suppress(OSError):
                        os.unlink(e.path)

    def _paths(self, key: str) -> tuple[str, str]:
        base = os.path.join(self.dir, key)
        return base + ".json", base + self.suffix

    def _write(self, path: str, data: bytes) -> None:
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _evict(self) -> None:
        """Remove the least recently used entries (all their files) beyond ``max_bytes``; an
        entry's use time is its compiled file's modification time (``load`` touches it)."""
        sizes: dict[str, int] = {}
        used: dict[str, int] = {}
        try:
            for e in os.scandir(self.dir):
                if not e.is_file() or "." not in e.name:
                    continue
                key = e.name.split(".", 1)[0]
                st = e.stat()
                sizes[key] = sizes.get(key, 0) + st.st_size
                if e.name == key + self.suffix:
                    used[key] = st.st_mtime_ns
        except OSError:
            return
        total = sum(sizes.values())
        for key in sorted(sizes, key=lambda k: used.get(k, 0)):
            if total <= self.max_bytes:
                break
            self._remove(key, keep=())
            total -= sizes[key]
