"""Open a C library from ONE declaration text, with cffi or with ctypes.

maixnn.runtime declares the engine's C API once (runtime.CDEF, the subset of
C that cffi's ``cdef`` reads).  On the PC and wherever cffi is installed the
library is opened with cffi in ABI mode (``ffi.dlopen``); the MaixII-Dock's
stock Python 3.8 has ctypes but no cffi (and cannot pip-build it), so there the
same text is parsed here into ctypes prototypes.  Both backends offer the
small interface maixnn.runtime uses (``lib.<function>``, ``is_null``,
``string``, ``int_out``/``value``, ``int_array``, ``address``, ``read``), and
both release the GIL during every C call.

The parser reads only what CDEF uses: ``typedef enum { NAME = int, ... } T;``
(the constants become ``constants``; T is an int), ``typedef struct S T;``
(opaque), and function prototypes whose types are void, int, long, size_t, double,
an enum typedef, or a pointer to any of these or to an opaque struct.  Any
other construct is a ValueError naming it, so CDEF cannot silently grow past
what the ctypes path understands.

Which backend: ``open_library(path, cdef, binding)`` with binding "cffi",
"ctypes" or "auto" (cffi if it imports, else ctypes).  maixnn.runtime reads
the environment variable MAIXNN_BINDING for it.

Board-side safe: Python 3.8, standard library only (cffi optional).
"""
from __future__ import annotations

import collections
import re
from typing import Dict, List, Tuple

BINDINGS = ("auto", "cffi", "ctypes")

Prototype = collections.namedtuple("Prototype", "name restype argtypes")
Prototype.__doc__ = "A C function: restype and each of argtypes is a normalised C type text, e.g. 'const char *'."


class Declarations:
    """The parsed declaration text: constants {name: int}, enum and opaque
    type names, and the function prototypes in order."""

    def __init__(self, constants: Dict[str, int], enums: List[str], opaque: List[str],
                 functions: List[Prototype]):
        self.constants = constants
        self.enums = enums
        self.opaque = opaque
        self.functions = functions


_SCALARS = ("void", "int", "long", "size_t", "double", "char")


def _normalise_type(text: str) -> str:
    """'const  mxn_net*' -> 'const mxn_net *' (one space, pointer stars last)."""
    text = " ".join(text.replace("*", " * ").split())
    return text.replace("* *", "**")


def parse(cdef: str) -> Declarations:
    """Parse the subset of C described in the module docstring."""
    text = re.sub(r"/\*.*?\*/", " ", cdef, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    constants: Dict[str, int] = collections.OrderedDict()
    enums: List[str] = []
    opaque: List[str] = []
    functions: List[Prototype] = []
    for raw in text.split(";"):
        stmt = " ".join(raw.split())
        if not stmt:
            continue
        m = re.match(r"^typedef enum \{(.*)\} (\w+)$", stmt)
        if m:
            for item in m.group(1).split(","):
                item = item.strip()
                if not item:
                    continue
                em = re.match(r"^(\w+) = (-?\d+)$", item)
                if em is None:
                    raise ValueError("CDEF: enum item %r needs an explicit integer value" % item)
                constants[em.group(1)] = int(em.group(2))
            enums.append(m.group(2))
            continue
        m = re.match(r"^typedef struct (\w+) (\w+)$", stmt)
        if m:
            opaque.append(m.group(2))
            continue
        m = re.match(r"^(.+?)\b(\w+) ?\((.*)\)$", stmt)
        if m is None:
            raise ValueError("CDEF: cannot read %r (only enums, opaque structs and prototypes)" % stmt)
        restype, name, args = _normalise_type(m.group(1)), m.group(2), m.group(3).strip()
        argtypes = []
        if args and args != "void":
            for arg in args.split(","):
                am = re.match(r"^(.*?[\s*])(\w+)$", arg.strip())
                if am is None:
                    raise ValueError("CDEF: %s: cannot read the parameter %r" % (name, arg))
                argtypes.append(_normalise_type(am.group(1)))
        functions.append(Prototype(name, restype, tuple(argtypes)))
    known = set(_SCALARS) | set(enums) | set(opaque)
    for proto in functions:
        for ctype in (proto.restype,) + proto.argtypes:
            base = ctype.replace("const ", "").replace("*", "").strip()
            if base not in known:
                raise ValueError("CDEF: %s uses the type %r, which the ctypes path does not know"
                                 % (proto.name, ctype))
            if base in opaque and "*" not in ctype:
                raise ValueError("CDEF: %s passes the opaque struct %r by value" % (proto.name, ctype))
    return Declarations(dict(constants), enums, opaque, functions)


# ---------------------------------------------------------------- cffi

class CffiLibrary:
    """The library through cffi in ABI mode."""

    name = "cffi"

    def __init__(self, path: str, cdef: str):
        import cffi  # ImportError when absent: the caller falls back or reports it
        ffi = cffi.FFI()
        ffi.cdef(cdef)
        self.ffi = ffi
        self.lib = ffi.dlopen(path)  # OSError on a bad file
        self._null = ffi.NULL

    def is_null(self, ptr) -> bool:
        return ptr == self._null

    def string(self, ptr) -> bytes:
        """The bytes of a NUL-terminated C string (b"" for NULL)."""
        return b"" if ptr == self._null else self.ffi.string(ptr)

    def int_out(self):
        return self.ffi.new("int *")

    @staticmethod
    def value(out) -> int:
        return out[0]

    def int_array(self, values):
        return self.ffi.new("int[]", list(values)) if values else self._null

    def address(self, address: int):
        """A `const void *` from a raw address (a numpy array's data)."""
        return self.ffi.cast("const void *", address)

    def read(self, ptr, nbytes: int) -> bytes:
        """A copy of nbytes at ptr."""
        return bytes(self.ffi.buffer(self.ffi.cast("const char *", ptr), nbytes))


# ---------------------------------------------------------------- ctypes

class _CtypesFunctions:
    """Attribute access to the prototyped ctypes functions (lib.mxn_...)."""


class CtypesLibrary:
    """The library through ctypes, its prototypes derived from the same CDEF."""

    name = "ctypes"

    def __init__(self, path: str, cdef: str):
        import ctypes
        self._ctypes = ctypes
        decls = parse(cdef)
        dll = ctypes.CDLL(path)  # OSError on a bad file; CDLL releases the GIL in calls
        self.lib = _CtypesFunctions()
        enums = set(decls.enums)
        for proto in decls.functions:
            try:
                func = getattr(dll, proto.name)
            except AttributeError:
                raise OSError("%s: undefined symbol: %s" % (path, proto.name)) from None
            func.restype = self._ctype(proto.restype, enums, result=True)
            func.argtypes = [self._ctype(t, enums, result=False) for t in proto.argtypes]
            setattr(self.lib, proto.name, func)

    def _ctype(self, ctype: str, enums, result: bool):
        ct = self._ctypes
        base = ctype.replace("const ", "").replace("*", "").strip()
        stars = ctype.count("*")
        if stars == 0:
            if base == "void":
                return None
            if base == "int" or base in enums:
                return ct.c_int
            if base == "long":
                return ct.c_long
            if base == "size_t":
                return ct.c_size_t
            if base == "double":
                return ct.c_double
            if base == "char":
                return ct.c_char
        if stars == 1 and base == "int":
            return ct.POINTER(ct.c_int)
        if stars == 1 and base == "char" and not result:
            return ct.c_char_p  # bytes arguments (paths, text)
        # any other pointer (opaque handles, void *, returned strings): an
        # address as a Python int (None for NULL), read with string()/read()
        return ct.c_void_p

    @staticmethod
    def is_null(ptr) -> bool:
        return not ptr  # c_void_p results are None for NULL

    def string(self, ptr) -> bytes:
        return b"" if not ptr else self._ctypes.string_at(ptr)

    def int_out(self):
        return self._ctypes.c_int()

    @staticmethod
    def value(out) -> int:
        return out.value

    def int_array(self, values):
        values = list(values)
        return (self._ctypes.c_int * len(values))(*values) if values else None

    @staticmethod
    def address(address: int):
        return address

    def read(self, ptr, nbytes: int) -> bytes:
        return self._ctypes.string_at(ptr, nbytes)


def open_library(path: str, cdef: str, binding: str = "auto"):
    """Open `path` with the declarations `cdef`: a CffiLibrary or CtypesLibrary.
    binding "auto" takes cffi when it can be imported, else ctypes.  Raises
    ValueError for an unknown binding, ImportError when "cffi" is asked for
    and missing, OSError when the file cannot be loaded."""
    if binding not in BINDINGS:
        raise ValueError("unknown binding %r (expected one of %s)" % (binding, ", ".join(BINDINGS)))
    if binding == "auto":
        try:
            import cffi  # noqa: F401
            binding = "cffi"
        except ImportError:
            binding = "ctypes"
    if binding == "cffi":
        return CffiLibrary(path, cdef)
    return CtypesLibrary(path, cdef)


__all__ = ["BINDINGS", "Declarations", "Prototype", "parse", "open_library", "CffiLibrary", "CtypesLibrary"]
