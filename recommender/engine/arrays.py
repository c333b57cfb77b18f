"""Model arrays on disk: written as uncompressed .npz, read back memory-mapped.

Each array is a plain .npy member of an uncompressed zip (what np.savez writes and np.load reads), so a
member's bytes lie contiguously in the file. Mapping them read-only (instead of copying them into the
process) lets every web process on a machine share one copy of a version's arrays through the page
cache, and a process only pages in the parts of a large catalog it actually touches. save_npz pads each
member's local header so its data starts on a 64-byte boundary: numpy and BLAS take their slow paths on
misaligned memory (a 10k x 384 float32 product ran 4x slower mapped at an odd offset). Compressed or
misaligned members (files from np.savez), empty and 0-d arrays are read into memory instead.
"""
from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip member's local file header (30 bytes)
ALIGNMENT = 64  # where each member's data starts; the .npy header is itself padded to 64 bytes
_PADDING_FIELD = 0xD935  # the extra-field id zipalign uses for alignment padding (readers skip it)


def save_npz(file: Path, **arrays: np.ndarray) -> None:
    """Write arrays to file as an uncompressed .npz whose members start 64-byte aligned (see load_npz)."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            header = _LOCAL_HEADER.size + len(info.filename.encode("utf-8")) + 4
            pad = -(archive.fp.tell() + header) % ALIGNMENT  # type: ignore[union-attr]  # open for writing
            info.extra = struct.pack("<HH", _PADDING_FIELD, pad) + bytes(pad)
            archive.writestr(info, buffer.getvalue())


def _member_offset(handle, info: zipfile.ZipInfo) -> int:
    """Return where a stored member's data starts (after its local header, whose extra field may differ)."""
    handle.seek(info.header_offset)
    fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
    name_length, extra_length = fields[-2], fields[-1]
    return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _mapped_member(file: Path, handle, info: zipfile.ZipInfo) -> np.ndarray | None:
    """Return the member as a read-only np.memmap, or None where it must be read instead."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    handle.seek(_member_offset(handle, info))
    version = np.lib.format.read_magic(handle)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(handle)
    offset = handle.tell()
    if dtype.hasobject or not shape or int(np.prod(shape)) == 0 or offset % dtype.alignment:
        return None
    return np.memmap(file, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def load_npz(file: Path, mapped: bool = True) -> dict[str, np.ndarray]:
    """Return the arrays of an .npz file by name, memory-mapped read-only where possible (never unpickled)."""
    file = Path(file)
    out: dict[str, np.ndarray] = {}
    if mapped:
        with zipfile.ZipFile(file) as archive, open(file, "rb") as handle:
            for info in archive.infolist():
                if info.filename.endswith(".npy"):
                    member = _mapped_member(file, handle, info)
                    if member is not None:
                        out[info.filename[:-4]] = member
    with np.load(file, allow_pickle=False) as z:
        for name in z.files:
            if name not in out:
                out[name] = z[name]
    return out


def save_csr(file: Path, m: sp.spmatrix) -> None:
    """Write a CSR matrix as its plain arrays (data, indices, indptr, shape)."""
    m = sp.csr_matrix(m)
    save_npz(file, data=m.data, indices=m.indices, indptr=m.indptr, shape=np.array(m.shape))


def load_csr(file: Path, mapped: bool = True) -> sp.csr_matrix:
    """Return a CSR matrix written by save_csr, its arrays memory-mapped (scipy keeps them without a copy)."""
    z = load_npz(file, mapped)
    return sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(int(v) for v in z["shape"]))


def is_mapped(a: np.ndarray) -> bool:
    """Return whether an array's memory is a file mapping (shared between processes), not a private copy."""
    while isinstance(a, np.ndarray):
        if isinstance(a, np.memmap):
            return True
        a = a.base  # type: ignore[assignment]
    return False
